// Expand every VEVENT of an iCalendar text the way Thunderbird does (ICAL.js).
// Usage: node expand.js START END < calendar.ics   (START/END: ISO 8601 UTC)
// Prints JSON: [{"uid": ..., "start": ISO UTC, "end": ISO UTC, "location": ...}, ...]
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const [start, end] = process.argv.slice(2).map((value) => new Date(value));
const root = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const zone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const masters = new Map();
const exceptions = [];
for (const component of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(component);
  if (event.isRecurrenceException()) exceptions.push(event);
  else masters.set(event.uid, event);
}
for (const exception of exceptions) {
  const master = masters.get(exception.uid);
  if (master) master.relateException(exception);
  else masters.set(`${exception.uid}#${exception.recurrenceId}`, exception);
}
const found = [];
const iso = (time) => time.toJSDate().toISOString();
for (const event of masters.values()) {
  if (!event.isRecurring()) {
    const at = event.startDate.toJSDate();
    if (at >= start && at < end) {
      found.push({ uid: event.uid, start: iso(event.startDate), end: iso(event.endDate), location: event.location || "" });
    }
    continue;
  }
  const iterator = event.iterator();
  for (let next = iterator.next(); next; next = iterator.next()) {
    const details = event.getOccurrenceDetails(next);
    const at = details.startDate.toJSDate();
    if (at >= end) break;
    if (at < start) continue;
    found.push({
      uid: event.uid,
      start: iso(details.startDate),
      end: iso(details.endDate),
      location: details.item.location || "",
    });
  }
}
process.stdout.write(JSON.stringify(found));

"""What removing a row of the plan does to everything else, and doing it safely.

Sits above the feature packages (plan, notices, subscriptions, meetings, feeds, delivery)
because it has to know every row that can point at a plan entity; none of them imports it.
"""

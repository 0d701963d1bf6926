"""Per-group wording: the core message one stakeholder group should read about a notice.

Sits below both notices and activities. Activities (which depend on notices) own the
per-group texts and register a source here at app start; notices asks this package, not
activities, which wording each recipient gets. So the import direction stays
activities → notices → wording.
"""

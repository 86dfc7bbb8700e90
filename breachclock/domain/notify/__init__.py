"""Telling subscribers and users about an incident: the domain core, with no Temporal import.

``assessment`` (notify or not, and why), ``subscribers`` (the affected list from a CRM
export), ``notice`` + ``templates/`` (what each person is sent), ``calling`` (when a
call may be placed).
"""

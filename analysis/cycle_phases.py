"""The dated events behind /cycle's phases: one row per public announcement, with the announcement it cites.

Pure data, read by ``analysis.cycle``, which builds the phases from it.  Kinds:

* ``peak`` / ``trough``: a business-cycle turning point as the NBER Business Cycle Dating Committee dates it,
  to the month (``YYYY-MM``).  Each peak is paired with the first trough after it.
* ``first_cut`` / ``first_hike``: the day of the FOMC statement announcing the first change of a cycle in the
  federal funds target (``YYYY-MM-DD``).

To add a cycle, add its rows (in any order) in a reviewed change; the reply cache keys on this table, so
cached replies built on the old one are not served again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["peak", "trough", "first_cut", "first_hike"]


@dataclass(frozen=True)
class Event:
    kind: EventKind
    date: str  # YYYY-MM for peaks and troughs, YYYY-MM-DD for the Fed's moves
    source: str


EVENTS: tuple[Event, ...] = (
    Event("peak", "2001-03", "NBER Business Cycle Dating Committee, announcement of 2001-11-26: peak in March 2001"),
    Event("trough", "2001-11", "NBER Business Cycle Dating Committee, announcement of 2003-07-17: trough in November 2001"),
    Event("peak", "2007-12", "NBER Business Cycle Dating Committee, announcement of 2008-12-01: peak in December 2007"),
    Event("trough", "2009-06", "NBER Business Cycle Dating Committee, announcement of 2010-09-20: trough in June 2009"),
    Event("peak", "2020-02", "NBER Business Cycle Dating Committee, announcement of 2020-06-08: peak in February 2020"),
    Event("trough", "2020-04", "NBER Business Cycle Dating Committee, announcement of 2021-07-19: trough in April 2020"),
    Event("first_cut", "2001-01-03", "FOMC statement, 2001-01-03: federal funds target cut 50 bp to 6%"),
    Event("first_cut", "2007-09-18", "FOMC statement, 2007-09-18: federal funds target cut 50 bp to 4.75%"),
    Event("first_cut", "2019-07-31", "FOMC statement, 2019-07-31: federal funds target range cut 25 bp to 2.00-2.25%"),
    Event("first_cut", "2024-09-18", "FOMC statement, 2024-09-18: federal funds target range cut 50 bp to 4.75-5.00%"),
    Event("first_hike", "2004-06-30", "FOMC statement, 2004-06-30: federal funds target raised 25 bp to 1.25%"),
    Event("first_hike", "2015-12-16", "FOMC statement, 2015-12-16: federal funds target range raised to 0.25-0.50%"),
    Event("first_hike", "2022-03-16", "FOMC statement, 2022-03-16: federal funds target range raised to 0.25-0.50%"),
)

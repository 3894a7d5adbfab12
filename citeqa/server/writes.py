"""The HTTP API's index changes (uploads, removals) on a thread of their own, behind a bounded line.

They used to run in AnyIO's worker threads, which searches, listings and /healthz share: 45 small
uploads waiting there for the engine's write lock took all 40 threads, and /healthz took 65 s. Now
one thread runs the changes in turn (citeqa.core.writeline, as the web app's); a request waiting
for it holds a place in the line, not a thread, and a request finding the line full is refused at
once (429 with Retry-After), before its body is received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from citeqa.core import writeline

T = TypeVar("T")


class WriteLine(writeline.WriteLine):
    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` in the line's thread, with the place taken by `take`; awaited without a thread."""
        return await asyncio.wrap_future(self.submit(fn))

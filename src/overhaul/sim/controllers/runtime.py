"""The controller runtime: work queues fed by store events, and timers in simulated time.

As client-go's informers and work queues do, a controller maps each change to the keys it
must look at again (`enqueue_for`), and a key is reconciled once however many changes named
it. `reconcile` may ask to be called again after a simulated delay (kubelet start-up times,
grace periods, requeue after a conflict). The manager runs on the API server's event loop,
or step by step in virtual time for rehearsals.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from overhaul.sim.clock import VirtualClock
from overhaul.sim.errors import ApiError
from overhaul.sim.store import StorageKey, WatchEvent

if TYPE_CHECKING:
    from overhaul.sim.cluster import Cluster

log = logging.getLogger("overhaul.sim.controllers")
Queue = OrderedDict[Hashable, None]

CONFLICT_RETRY_SECONDS = 0.05
ERROR_RETRY_SECONDS = 1.0
MIN_REQUEUE_SECONDS = 0.001
# Wall time one batch of reconciles may hold the event loop that also serves the API.
SLICE_SECONDS = 0.04
# Status-only syncs batched in a window (see `Controller.coalesce`) wait longer while this many
# items per step of the factor are queued, up to MAX_COALESCE times their window.
COALESCE_PER_BACKLOG = 1000
MAX_COALESCE = 10.0
# Items per round for the scheduler and the kubelets (see Controller.share).
AGENT_SHARE = 20


class Controller:
    """A control loop. Subclasses set `name` and `watches` and implement the two hooks."""

    name = "controller"
    watches: tuple[StorageKey, ...] = ()
    # Items reconciled per round of the manager's round robin. The scheduler and the kubelets are
    # processes of their own in a cluster, thousands of kubelets: a turn of theirs against one of
    # a controller that creates 500 pods in a sync lets pods move on while what they read is warm.
    share = 1

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.backlog: Callable[[], int] = lambda: 0  # queued work of the whole manager (set by it)

    def coalesce(self, window: float) -> float:
        """A batching window for work that only refreshes a status (`window` seconds when little is
        queued), stretched while much work is queued: a loaded controller manager's queues coalesce
        such updates the same way, and 150,000 pods starting would otherwise cost a status sync
        each. Callers also hold the first change of a burst when stretched (trailing edge)."""
        backlog = self.backlog()
        if backlog <= COALESCE_PER_BACKLOG:
            return window
        return window * min(MAX_COALESCE, backlog / COALESCE_PER_BACKLOG)

    def enqueue_for(self, key: StorageKey, event: WatchEvent) -> Iterable[Hashable]:
        """The work items a change makes this controller look at again."""
        return ()

    def initial_items(self) -> Iterable[Hashable]:
        """Work items to look at when the manager starts (what an informer's initial list gives)."""
        return ()

    def reconcile(self, item: Hashable) -> float | None:
        """Brings `item` towards its desired state; returns simulated seconds until it should be
        looked at again, or None."""
        return None


class ControllerManager:
    """Runs controllers: one de-duplicating queue each, plus a timer heap in simulated seconds."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.controllers: list[Controller] = []
        self._routes: dict[StorageKey, list[tuple[Callable[..., Iterable[Hashable]], Queue]]] = {}
        self._queues: dict[str, OrderedDict[Hashable, None]] = {}
        self._timers: list[tuple[float, int, str, Hashable]] = []
        self._seq = itertools.count()
        self._wakeup: asyncio.Event | None = None
        self._named: dict[str, Controller] = {}
        cluster.store.listeners.append(self._on_event)

    def add(self, controller: Controller) -> None:
        self.controllers.append(controller)
        self._named[controller.name] = controller
        controller.backlog = self.pending
        self._queues[controller.name] = OrderedDict()
        for key in controller.watches:
            self._routes.setdefault(key, []).append((controller.enqueue_for, self._queues[controller.name]))
        for item in controller.initial_items():
            self.enqueue(controller, item)

    def get(self, name: str) -> Controller:
        return self._named[name]

    # ----- queues and timers ---------------------------------------------------------------

    def _on_event(self, key: StorageKey, event: WatchEvent) -> None:
        # Every change of the store comes through here, to a dozen controllers: kept lean.
        for enqueue_for, queue in self._routes.get(key, ()):
            for item in enqueue_for(key, event):
                queue[item] = None
        if self._wakeup is not None:
            self._wakeup.set()

    def enqueue(self, controller: Controller, item: Hashable) -> None:
        self._queues[controller.name][item] = None
        if self._wakeup is not None:
            self._wakeup.set()

    def after(self, controller: Controller, item: Hashable, sim_seconds: float) -> None:
        """Looks at `item` again once `sim_seconds` of simulated time have passed."""
        # A floor keeps a controller that asks "again now" from spinning at one virtual instant.
        due = self.cluster.clock.now().timestamp() + max(MIN_REQUEUE_SECONDS, sim_seconds)
        heapq.heappush(self._timers, (due, next(self._seq), controller.name, item))
        if self._wakeup is not None:
            self._wakeup.set()

    def _release_due_timers(self) -> None:
        now = self.cluster.clock.now().timestamp()
        while self._timers and self._timers[0][0] <= now:
            _due, _seq, name, item = heapq.heappop(self._timers)
            self._queues[name][item] = None

    def next_due(self) -> float | None:
        """The simulated timestamp of the next timer, if any."""
        return self._timers[0][0] if self._timers else None

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    # ----- running -------------------------------------------------------------------------

    def step(self, budget: int = 500, deadline: float | None = None) -> int:
        """Reconciles about `budget` queued items, round-robin across controllers (`share` items of
        each per round), stopping after the round that passes `deadline` (a `time.perf_counter()`
        value) if given; returns how many."""
        self._release_due_timers()
        done = 0
        while done < budget and (deadline is None or time.perf_counter() < deadline):
            progressed = False
            for controller in self.controllers:
                queue = self._queues[controller.name]
                for _ in range(controller.share):
                    if not queue:
                        break
                    item, _ = queue.popitem(last=False)
                    self._run_one(controller, item)
                    done += 1
                    progressed = True
                if done >= budget:
                    break
            if not progressed:
                break
        return done

    def _run_one(self, controller: Controller, item: Hashable) -> None:
        try:
            again = controller.reconcile(item)
        except ApiError as err:
            # Conflicts and races with other writers are normal: look again soon.
            again = CONFLICT_RETRY_SECONDS if err.code in (409, 404) else ERROR_RETRY_SECONDS
            if err.code not in (409, 404):
                log.warning("%s: %s: %s", controller.name, item, err.message)
        except Exception:
            log.exception("%s: reconciling %s failed", controller.name, item)
            again = ERROR_RETRY_SECONDS
        if again is not None:
            self.after(controller, item, again)

    def run_until_idle(self, max_items: int = 10_000_000) -> int:
        """Processes queued work (not future timers) until nothing is queued; for tests and loading."""
        total = 0
        while total < max_items:
            n = self.step()
            if n == 0:
                break
            total += n
        return total

    def run_for(self, sim_seconds: float, max_items: int = 10_000_000) -> int:
        """Virtual time only: processes work and timers, jumping the clock from timer to timer,
        until `sim_seconds` have passed. Returns how many items were reconciled."""
        clock = self.cluster.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("run_for needs a VirtualClock")
        end = clock.now().timestamp() + sim_seconds
        total = self.run_until_idle(max_items)
        while total < max_items:
            due = self.next_due()
            if due is None or due > end:
                break
            clock.advance_to(_moment_at_or_after(due))
            total += self.run_until_idle(max_items - total)
        clock.advance_to(_moment_at_or_after(end))
        return total + self.run_until_idle(max_items - total)

    async def run(self) -> None:
        """Runs forever on the current event loop, yielding to the API between batches."""
        self._wakeup = asyncio.Event()
        clock = self.cluster.clock
        while True:
            if self.step(deadline=time.perf_counter() + SLICE_SECONDS):
                await asyncio.sleep(0)
                continue
            self._wakeup.clear()
            due = self.next_due()
            timeout = None
            if due is not None:
                timeout = max(0.0, clock.wall_seconds(due - clock.now().timestamp()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)


def _moment_at_or_after(timestamp: float) -> datetime:
    """The datetime of `timestamp`, rounded up to the microsecond: rounding down would leave a
    timer a fraction of a microsecond in the future, never due, and run_for would spin."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if moment.timestamp() < timestamp:
        moment += timedelta(microseconds=1)
    return moment

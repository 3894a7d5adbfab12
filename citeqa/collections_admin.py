"""The collections of a data dir (or Milvus server): list, make, rename and delete them. A part of
`citeqa.engine.Citeqa`, which makes the engines that serve them (`collection`, `over`); kept apart
so that the engine module holds the wiring and the questions' way through it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from citeqa.core.collections import RECORD_SUFFIXES, CollectionInfo, UnknownCollection, check_name
from citeqa.core.errors import Refused
from citeqa.core.syncstate import read_sync

if TYPE_CHECKING:
    from citeqa.core.settings import Settings
    from citeqa.engine import Citeqa
    from citeqa.ingest.pipeline import Ingestor
    from citeqa.retrieval.retriever import Retriever
    from citeqa.retrieval.store import Store


class CollectionsAdmin:
    """`Citeqa`'s collection methods; what they use is `Citeqa`'s (declared here for the type checker)."""

    if TYPE_CHECKING:
        settings: Settings
        _root: Citeqa | None
        _views: dict[str, Citeqa]
        _writes: threading.RLock
        _build: threading.RLock
        _retriever: Retriever | None
        _ingestor: Ingestor | None

        @property
        def store(self) -> Store: ...

        def index_missing(self) -> bool: ...

        def _view(self, settings: Settings) -> Citeqa: ...

        def _joined(self, views: Sequence[Citeqa]) -> Citeqa: ...

    def collection(self, name: str | None) -> Citeqa:
        """This engine for collection `name` of the same data dir (None or its own: itself). The
        models, the data dir's lock, the write lock and the chat model's queue are this engine's,
        so switching collection loads nothing again. Unknown names are made on first use (see
        `require_collection` for edges that must not make them)."""
        root = self._root or self
        if name is None or name == self.settings.collection:
            return self
        if name == root.settings.collection:
            return root
        check_name(name)
        with root._build:
            view = root._views.get(name)
            if view is None:
                settings = root.settings.model_copy(update={"collection": name})
                view = root._views[name] = root._view(settings)
            return view

    def collection_names(self) -> list[str]:
        """The collections of this data dir (or Milvus server), sorted; none before the first ingest."""
        if self.index_missing():
            return []
        from citeqa.retrieval.renaming import finish_pending

        store = (self._root or self).store
        finish_pending(store, self.settings.data_dir)  # one killed while this engine was open
        return store.collection_names()

    def require_collection(self, name: str) -> Citeqa:
        """`collection(name)` for a collection that exists, else UnknownCollection listing them."""
        check_name(name)
        names = self.collection_names()
        if name not in names:
            raise UnknownCollection(name, names)
        return self.collection(name)

    def over(self, names: Sequence[str]) -> Citeqa:
        """The engine a question over the collections `names` goes to: one collection's own, or
        for several a view whose search covers them all, fused, each hit naming its collection."""
        names = list(dict.fromkeys(names))
        if len(names) <= 1:
            return self.collection(names[0] if names else None)
        return self._joined([self.require_collection(n) for n in names])

    def collections(self) -> list[CollectionInfo]:
        out = []
        for name in self.collection_names():
            view = self.collection(name)
            out.append(
                CollectionInfo(
                    name,
                    view.store.count_documents(),
                    view.store.count_chunks(),
                    read_sync(self.settings.data_dir, name).last_sync,
                )
            )
        return out

    def create_collection(self, name: str) -> CollectionInfo:
        check_name(name)
        clash = [n for n in self.collection_names() if n.lower() == name.lower()]
        if clash:
            raise Refused(f"a collection named {clash[0]!r} exists already; see `citeqa collections`")
        view = self.collection(name)
        view.store  # noqa: B018 - opening it creates its Milvus collections
        return CollectionInfo(name, 0, 0, None)

    def rename_collection(self, old: str, new: str) -> None:
        """Rename collection `old` to `new`: its Milvus collections, its records and its uploads
        folder (the uploaded documents' paths with it), crash-safely. Not while another view of it
        is open elsewhere in this process (the web app's engine: rename from the CLI, or restart it)."""
        check_name(new)
        root = self._root or self
        names = self.collection_names()
        if old not in names:
            raise UnknownCollection(old, names)
        if clash := [n for n in names if n.lower() == new.lower() and n != old]:
            raise Refused(f"a collection named {clash[0]!r} exists already; choose another name")
        if old == new:
            return
        from citeqa.retrieval import renaming

        with root._writes:
            # Journaled: a crash at any point leaves OLD or NEW whole (citeqa.retrieval.renaming).
            renaming.rename(self.collection(old).store, self.settings.data_dir, old, new)
            root._forget(old)

    def delete_collection(self, name: str) -> None:
        """Delete collection `name`: its passages, its manifest, its records and its uploads
        folder; nothing else (no file outside the data dir, no other collection)."""
        import shutil

        from citeqa.core.collections import uploads_dir

        root = self._root or self
        names = self.collection_names()
        if name not in names:
            raise UnknownCollection(name, names)
        with root._writes:
            self.collection(name).store.drop()
            root._forget(name)
            shutil.rmtree(uploads_dir(self.settings.data_dir, name), ignore_errors=True)
            for suffix in RECORD_SUFFIXES:
                (self.settings.data_dir / f"{name}{suffix}").unlink(missing_ok=True)

    def _forget(self, name: str) -> None:
        """Drop the cached parts of collection `name` after it was renamed or deleted."""
        if name == self.settings.collection:
            # This engine's own collection: its store holds the connection the views borrow, so it
            # stays open; only what was built on the collection goes.
            self._retriever = self._ingestor = None
            return
        view = self._views.pop(name, None)
        if view is not None:
            view.close()


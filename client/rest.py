"""A small REST client for organizers and teachers (used by the CLI, tests and benchmarks)."""

from __future__ import annotations

from typing import Any

import aiohttp


class RestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class RestClient:
    """Calls the REST API with the organizer's admin key or a teacher's token."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.key = base_url.rstrip("/"), key
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RestClient:
        self._http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.key}"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._http is not None, "use 'async with RestClient(...)'"
        async with self._http.request(method, self.base_url + path, **kwargs) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                err = (data or {}).get("error", {})
                raise RestError(resp.status, err.get("code", "?"), err.get("message", ""))
            return data

    async def text(self, path: str) -> str:
        assert self._http is not None, "use 'async with RestClient(...)'"
        async with self._http.get(self.base_url + path) as resp:
            if resp.status >= 400:
                err = (await resp.json(content_type=None) or {}).get("error", {})
                raise RestError(resp.status, err.get("code", "?"), err.get("message", ""))
            return await resp.text()

    async def report(self, path: str, csv: bool = False) -> Any:
        """A report as JSON, or as CSV text (the same path with .csv)."""
        return await self.text(path + ".csv") if csv else await self.request("GET", path)

    async def create_course(self, title: str) -> dict[str, Any]:
        return await self.request("POST", "/api/courses", json={"title": title})  # type: ignore[no-any-return]

    async def import_roster_csv(self, course_id: str, csv_text: str) -> list[dict[str, Any]]:
        return await self.import_roster(course_id, csv_text.encode())  # type: ignore[no-any-return]

    async def import_roster(
        self, course_id: str, data: bytes, content_type: str = "text/csv", dry_run: bool = False
    ) -> Any:
        """Import a CSV or .xlsx file's bytes; with dry_run, only the preview (nothing stored)."""
        query = "?dry_run=1" if dry_run else ""
        return await self.request(
            "POST",
            f"/api/courses/{course_id}/students{query}",
            data=data,
            headers={"Content-Type": content_type},
        )

    async def add_students(self, course_id: str, names: list[str]) -> list[dict[str, Any]]:
        body = {"students": [{"name": n} for n in names]}
        return await self.request("POST", f"/api/courses/{course_id}/students", json=body)  # type: ignore[no-any-return]

    async def create_teacher(self, name: str, course_ids: list[str]) -> dict[str, Any]:
        body = {"name": name, "course_ids": course_ids}
        return await self.request("POST", "/api/teachers", json=body)  # type: ignore[no-any-return]

    async def create_lesson(self, course_id: str, title: str, allow_guests: bool = False) -> Any:
        body = {"title": title, "allow_guests": allow_guests}
        return await self.request("POST", f"/api/courses/{course_id}/lessons", json=body)

    async def start_lesson(self, lesson_id: str) -> Any:
        return await self.request("POST", f"/api/lessons/{lesson_id}/start")

    async def end_lesson(self, lesson_id: str) -> Any:
        return await self.request("POST", f"/api/lessons/{lesson_id}/end")

    async def events(self, lesson_id: str, page: int = 1000) -> list[dict[str, Any]]:
        """The whole log, a page at a time (the cursor is the last seq received)."""
        found: list[dict[str, Any]] = []
        while True:
            after = found[-1]["seq"] if found else 0
            path = f"/api/lessons/{lesson_id}/events?after={after}&limit={page}"
            rows = await self.request("GET", path)
            found += rows
            if len(rows) < page or rows[-1]["seq"] <= after:  # the end (or no cursor support)
                return found


def token_from_link(link: str) -> str:
    """The token inside a personal link (`.../join#TOKEN`)."""
    return link.split("#", 1)[1]

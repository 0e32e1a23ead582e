"""What a manager writes in a notice, checked the same way for every surface (API, CLI)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from activitypub.notices import MAX_PLACE, MAX_TEXT, MAX_TITLE, NoticeKind, NoticePlace, NoticeTerms
from node.notices.models import NoticeAudience


class _Form(BaseModel):
    # Strict, as every request body: dates are the exception (JSON has no such type).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)


class NoticeFields(_Form):
    """A notice's own fields, as a manager writes them (the API's and the CLI's)."""

    kind: NoticeKind = "information"
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    text: str = Field(default="", max_length=MAX_TEXT)
    place: str = Field(default="", max_length=MAX_PLACE)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    starts_at: datetime | None = Field(default=None, strict=False)
    ends_at: datetime | None = Field(default=None, strict=False)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("give a time zone (2026-12-24T18:00:00+01:00 or ...Z)")
        try:
            # Stored in UTC: year 1 or 9999 with an offset is no moment UTC can name (the
            # database's conversion would raise OverflowError, a 500).
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("a date between years 1 and 9999 in UTC") from None

    @model_validator(mode="after")
    def _consistent(self) -> NoticeFields:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must come after starts_at")
        return self

    def terms(self) -> NoticeTerms:
        """The notice's terms as the wire format and the service take them."""
        place = None
        if self.place or self.latitude is not None:
            place = NoticePlace(self.place, self.latitude, self.longitude)
        return NoticeTerms(
            kind=self.kind,
            title=" ".join(self.title.split()),
            text=self.text,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            place=place,
        )


class NewNotice(NoticeFields):
    """A new notice: its fields, who it is for, and its photo."""

    audience: NoticeAudience = Field(default=NoticeAudience.NODE, strict=False)
    public: bool = False
    photo: str | None = Field(default=None, max_length=64)
    # with audience "circle": the circle's slug
    circle: str | None = Field(default=None, min_length=1, max_length=30)

    @model_validator(mode="after")
    def _circle_given(self) -> NewNotice:
        if (self.audience is NoticeAudience.CIRCLE) != (self.circle is not None):
            raise ValueError('a notice to a circle names it: audience "circle" and circle')
        return self

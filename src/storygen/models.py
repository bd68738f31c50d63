"""Typed data that crosses stage boundaries. Everything here round-trips through JSON."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NarratorGender = Literal["female", "male", "neutral"]
Narration = Literal["first_person", "narrator"]
CameraMove = Literal["zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "static"]

PLATFORMS = ("tiktok", "youtube_shorts", "instagram_reels")
REGIONS = ("US", "CA", "AU")
AGE_BANDS = ("10-14", "15-19", "20-24", "25-30")
GENDERS = ("female", "male")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Audience(_Model):
    age_min: int = Field(10, ge=0, le=120)
    age_max: int = Field(30, ge=0, le=120)
    regions: list[str] = Field(default_factory=lambda: list(REGIONS))
    platforms: list[str] = Field(default_factory=lambda: list(PLATFORMS))

    @model_validator(mode="after")
    def _order(self) -> "Audience":
        if self.age_max < self.age_min:
            self.age_min, self.age_max = self.age_max, self.age_min
        return self


class Potential(_Model):
    """Scored potential, 0-100 per platform, region, age band and gender; ``overall`` is derived."""

    platforms: dict[str, int] = Field(default_factory=dict)
    regions: dict[str, int] = Field(default_factory=dict)
    age_bands: dict[str, int] = Field(default_factory=dict)
    genders: dict[str, int] = Field(default_factory=dict)
    overall: int = 0

    @field_validator("platforms", "regions", "age_bands", "genders")
    @classmethod
    def _clamp(cls, v: dict[str, int]) -> dict[str, int]:
        return {str(k): max(0, min(100, int(round(float(s))))) for k, s in v.items()}

    @model_validator(mode="after")
    def _overall(self) -> "Potential":
        groups = [g for g in (self.platforms, self.regions, self.age_bands, self.genders) if g]
        if groups:
            # mean of the group means: every dimension weighs the same
            self.overall = int(round(sum(sum(g.values()) / len(g) for g in groups) / len(groups)))
        return self


class StoryIdea(_Model):
    title: str = Field(min_length=1, max_length=120)
    logline: str = Field(min_length=1, max_length=600)
    tone: str = Field("wistful", min_length=1, max_length=60)
    theme: str = Field("hope", min_length=1, max_length=80)
    narrator_gender: NarratorGender = "neutral"
    narration: Narration = "narrator"
    voice_hint: str = Field("warm, calm", max_length=120)
    audience: Audience = Field(default_factory=Audience)
    potential: Potential = Field(default_factory=Potential)
    source: str = Field("", max_length=2000, description="the user's idea, condensed")
    language: str = Field("en", max_length=20, description="BCP-47 code the story is written and spoken in")


class WordTiming(_Model):
    """One spoken word. Times are seconds in the final (padded) voice track."""

    word: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    confidence: float = Field(1.0, ge=0, le=1)
    matched: bool = True

    @model_validator(mode="after")
    def _order(self) -> "WordTiming":
        if self.end < self.start:
            self.end = self.start
        return self


class HeardWord(NamedTuple):
    """One word a recogniser heard (or a voice reported): its text, start and end in seconds, and how sure."""

    word: str
    start: float
    end: float
    probability: float = 1.0


class Character(_Model):
    name: str
    description: str
    seed: int = 0


class StyleBible(_Model):
    art_style: str = "painterly digital illustration, cinematic lighting"
    palette: list[str] = Field(default_factory=lambda: ["#1b2a49", "#465881", "#c9d6df", "#f2c14e"])
    characters: list[Character] = Field(default_factory=list)
    seed: int = 0


class Scene(_Model):
    index: int = Field(ge=0)
    text: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    prompt: str
    negative_prompt: str = "text, watermark, logo, blurry, deformed, extra limbs"
    camera: CameraMove = "zoom_in"
    mood: str = "calm"
    palette: list[str] = Field(default_factory=list)
    seed: int = 0

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


class ScenePlan(_Model):
    style: StyleBible = Field(default_factory=StyleBible)
    scenes: list[Scene]
    planner: str = "deterministic"

    @model_validator(mode="after")
    def _contiguous(self) -> "ScenePlan":
        if not self.scenes:
            raise ValueError("a scene plan needs at least one scene")
        for a, b in zip(self.scenes, self.scenes[1:]):
            if abs(a.end - b.start) > 1e-3:
                raise ValueError(f"scene {b.index} starts at {b.start:.3f}s but scene {a.index} ends at {a.end:.3f}s")
        return self


class Verdict(_Model):
    """What a vision judge said about one frame."""

    score: float = Field(ge=0, le=1)
    problems: list[str] = Field(default_factory=list)
    judged_content: bool = False
    judge: str = ""

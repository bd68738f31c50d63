"""One module per stage, in the spec's order."""

from storygen.stages.captions import CaptionsStage
from storygen.stages.clips import ClipsStage
from storygen.stages.final import FinalStage
from storygen.stages.idea import IdeaStage
from storygen.stages.keyframes import KeyframesStage
from storygen.stages.revise import ReviseStage
from storygen.stages.scenes import ScenesStage
from storygen.stages.script import ScriptStage
from storygen.stages.voice import VoiceStage

ALL_STAGES = (IdeaStage(), ScriptStage(), ReviseStage(), VoiceStage(), CaptionsStage(), ScenesStage(),
              KeyframesStage(), ClipsStage(), FinalStage())

__all__ = ["ALL_STAGES"]

"""The drift worker's steps, run one after another; each commits its results and watermark together."""

from seia_drift.steps.alerts import AlertStep
from seia_drift.steps.audit import AuditStep
from seia_drift.steps.causes import CauseStep
from seia_drift.steps.drift import DriftStep
from seia_drift.steps.labels import LabelStep
from seia_drift.steps.multivariate import MultivariateFitStep, MultivariateStep
from seia_drift.steps.notify import NotifyStep
from seia_drift.steps.performance import PerformanceStep
from seia_drift.steps.profile import ProfileStep
from seia_drift.steps.reference import ReferenceStep

DEFAULT_STEPS = (
    AuditStep,
    ReferenceStep,
    MultivariateFitStep,  # before ProfileStep: its pass over the new rows also counts their reconstruction errors
    ProfileStep,
    LabelStep,
    DriftStep,
    MultivariateStep,  # after DriftStep: its window rows exist, and it touches them for the alerts
    PerformanceStep,
    AlertStep,
    CauseStep,
    NotifyStep,
)

__all__ = [
    "DEFAULT_STEPS",
    "AlertStep",
    "AuditStep",
    "CauseStep",
    "DriftStep",
    "LabelStep",
    "MultivariateFitStep",
    "MultivariateStep",
    "NotifyStep",
    "PerformanceStep",
    "ProfileStep",
    "ReferenceStep",
]

from django.contrib import admin

from medservice.maintenance.models import (
    AcceptanceRecord,
    Installation,
    OperatorTraining,
    PmPlan,
    PmVisit,
    RetrainingSuggestion,
)

for model in (PmPlan, PmVisit, Installation, AcceptanceRecord, OperatorTraining,
              RetrainingSuggestion):  # fmt: skip
    admin.site.register(model)

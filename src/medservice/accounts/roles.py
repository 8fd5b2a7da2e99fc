"""What each role may do, as data. Groups are created by a migration; their permissions are
synchronised after every migrate so a new app's models join the roles that need them.

Entries are "app_label.codename" or patterns: "app_label.*" (all of an app), "*.view_*" (view
everything); an entry starting with "!" takes matching permissions away again ("!core.view_x").
Later apps add their lines here.
"""

from __future__ import annotations

import fnmatch

from django.contrib.auth.models import Group, Permission

from medservice.accounts.choices import Role

CATALOG_READ = ["catalog.view_*"]
# GSP: catalogue master data (suppliers, models, certificates) is changed by quality staff only.
CATALOG_WRITE = ["catalog.*"]
INSTALLED_BASE_READ = ["installed_base.view_*"]
TICKETS_READ = [
    "tickets.view_ticket",
    "tickets.view_timelineentry",
    "tickets.view_ticketclock",
    "tickets.view_qualityintake",
    "tickets.view_regulatorfeedback",
    "tickets.view_slaexception",
    "tickets.view_team",
    "tickets.view_slapolicy",
    "tickets.view_slapolicytarget",
]
# Agents run the desk: register, acknowledge, work, record the customer's answers, screen.
TICKETS_DESK = [
    *TICKETS_READ,
    "tickets.add_ticket",
    "tickets.change_ticket",
    "tickets.acknowledge_ticket",
    "tickets.work_ticket",
    "tickets.respond_ticket",
    "tickets.screen_ticket",
    "tickets.cancel_ticket",
    "tickets.unmask_ticket",
    "tickets.add_regulatorfeedback",
    "tickets.add_timelineentry",
]
INVENTORY_READ = ["inventory.view_*"]
# Engineers request parts into their own stock, fit and remove parts, return what they did not
# use and hand over defective parts; they read the catalogue and where stock is.
INVENTORY_ENGINEER = [
    "inventory.view_part",
    "inventory.view_partlot",
    "inventory.view_stocklocation",
    "inventory.view_stockbalance",
    "inventory.view_stockmovement",
    "inventory.view_requisition",
    "inventory.view_requisitionline",
    "inventory.view_instrument",
    "inventory.view_instrumentcalibration",
    "inventory.view_instrumentcheckout",
    "inventory.add_requisition",
    "inventory.add_requisitionline",
    "inventory.consume_parts",
    "inventory.return_parts",
    "inventory.transfer_stock",
]
# The warehouse runs the stock: everything except approving its own stock counts.
INVENTORY_WAREHOUSE = [
    "inventory.view_*",
    "inventory.add_*",
    "inventory.change_*",
    "inventory.receive_purchaseorder",
    "inventory.approve_requisition",
    "inventory.issue_requisition",
    "inventory.checkout_instrument",
    "inventory.transfer_stock",
    "inventory.return_parts",
    "inventory.dispose_parts",
]
# Service staff read the knowledge base, the documents and their own training records (scoping
# narrows distributors to their own); they may draft articles, which a manager publishes.
TRAINING_STAFF = [
    "training.view_knowledgearticle",
    "training.view_knowledgearticleversion",
    "training.add_knowledgearticle",
    "training.change_knowledgearticle",
    "training.view_controlleddocument",
    "training.view_documentversion",
    "training.view_trainingsession",
    "training.view_sessionattendance",
    "training.view_certification",
    "training.view_performancereview",
    "training.view_violation",
]
# Service managers run training, certification, reviews and the knowledge base.
TRAINING_MANAGE = [
    "training.view_*",
    "training.add_*",
    "training.change_*",
    "training.record_trainingsession",
    "training.publish_knowledgearticle",
]
# Business calendars (core): read by those who plan with deadlines, changed by administrators.
CALENDAR_READ = ["core.view_businesscalendar", "core.view_calendarday", "core.view_calendaryear"]
CALENDAR_WRITE = [
    *CALENDAR_READ,
    "core.add_businesscalendar",
    "core.change_businesscalendar",
    "core.add_calendarday",
    "core.change_calendarday",
    "core.delete_calendarday",
    "core.add_calendaryear",
    "core.change_calendaryear",
]

WORK_ORDERS_READ = ["work_orders.view_*"]
# Engineers open, assess and quote work, do it, complete it and record the customer's sign-off
# on their phone; dispatch, overrides and fees are others' decisions.
WORK_ORDERS_ENGINEER = [
    *WORK_ORDERS_READ,
    "work_orders.add_workorder",
    "work_orders.assess_workorder",
    "work_orders.quote_workorder",
    "work_orders.work_workorder",
    "work_orders.complete_workorder",
    "work_orders.sign_workorder",
]
WORK_ORDERS_DESK = [
    *WORK_ORDERS_READ,
    "work_orders.add_workorder",
    "work_orders.quote_workorder",
    "work_orders.respond_workorder",
    "work_orders.sign_workorder",
]
WORK_ORDERS_MANAGE = [
    "work_orders.*",
]
WORK_ORDERS_FINANCE = [
    *WORK_ORDERS_READ,
    "work_orders.record_fees",
    "work_orders.add_ratecard",
    "work_orders.change_ratecard",
]
WORK_ORDERS_CUSTOMER = [
    "work_orders.view_workorder",
    "work_orders.view_visit",
    "work_orders.view_quote",
    "work_orders.view_quoteline",
    "work_orders.view_servicereport",
    "work_orders.view_feeitem",
    "work_orders.respond_workorder",
    "work_orders.sign_workorder",
]

QUALITY_READ = ["quality.view_*"]
# Quality staff record and investigate cases; the contact with the complainant is theirs.
QUALITY_STAFF_CASES = [
    *QUALITY_READ,
    "quality.add_qualitycase",
    "quality.change_qualitycase",
    "quality.contact_qualitycase",
    "quality.unmask_qualitycase",
    "quality.add_investigationentry",
    "quality.add_suppliernotice",
    "quality.change_suppliernotice",
    "quality.add_caseregulatorfeedback",
    "quality.add_adverseeventreport",
    "quality.change_adverseeventreport",
    "quality.submit_adverseeventreport",
    "quality.unmask_adverseeventreport",
    # Quality staff prepare recalls and run them; the quality manager decides and closes.
    "quality.add_recall",
    "quality.change_recall",
    "quality.run_recall",
    "quality.add_capa",
    "quality.change_capa",
    "quality.verify_capa",
    "quality.review_trendsignal",
    "quality.add_qualityaccident",
    "quality.investigate_qualityaccident",
    "quality.report_qualityaccident",
    "quality.unmask_qualityaccident",
]
QUALITY_MANAGE = ["quality.*"]

RETURNS_READ = [
    "returns.view_returnrequest",
    "returns.view_returnline",
    "returns.view_returnfile",
    "returns.view_returnreceipt",
    "returns.view_exchangeunit",
    "returns.view_refund",
]
# Agents take return requests and evaluate them (售后服务评估); the manager decides.
RETURNS_DESK = [
    *RETURNS_READ,
    "returns.view_returnrule",
    "returns.add_returnrequest",
    "returns.add_returnfile",
    "returns.evaluate_returnrequest",
]
RETURNS_MANAGE = [
    *RETURNS_DESK,
    "returns.approve_returnrequest",
    "returns.close_returnrequest",
    "returns.add_returnrule",
    "returns.change_returnrule",
]
# The warehouse receives returned products into quarantine and ships exchange units.
RETURNS_WAREHOUSE = [
    *RETURNS_READ,
    "returns.receive_returnrequest",
    "returns.ship_returnrequest",
]
# Finance records the refunds.
RETURNS_FINANCE = [*RETURNS_READ, "returns.refund_returnrequest"]
# Customers ask in the portal and follow their own organisation's returns.
RETURNS_CUSTOMER = [
    "returns.view_returnrequest",
    "returns.view_returnline",
    "returns.view_returnfile",
    "returns.add_returnrequest",
    "returns.add_returnfile",
]

# issue 10 maintenance: PM plans, installation and acceptance, operator training.
MAINTENANCE_READ = ["maintenance.view_*"]
# Engineers install, record the customer's signed acceptance and train the operators.
MAINTENANCE_ENGINEER = [
    *MAINTENANCE_READ,
    "maintenance.add_installation",
    "maintenance.add_acceptancerecord",
    "maintenance.sign_acceptancerecord",
    "maintenance.add_acceptancefile",
    "maintenance.add_operatortraining",
    "maintenance.change_operatortraining",
    "maintenance.add_trainingattendee",
    "maintenance.delete_trainingattendee",
    "maintenance.add_trainingfile",
]
# The desk keeps the PM plans; the manager also decides re-training suggestions.
MAINTENANCE_DESK = [*MAINTENANCE_READ, "maintenance.add_pmplan", "maintenance.change_pmplan"]
MAINTENANCE_MANAGE = ["maintenance.*"]
# Customers read their plans, visits, acceptances and trainings (not internal suggestions).
MAINTENANCE_CUSTOMER = [
    "maintenance.view_pmplan",
    "maintenance.view_pmvisit",
    "maintenance.view_installation",
    "maintenance.view_acceptancerecord",
    "maintenance.view_acceptancefile",
    "maintenance.view_operatortraining",
    "maintenance.view_trainingattendee",
    "maintenance.view_trainingfile",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.ADMINISTRATOR: [
        # Return rules are company policy: the administrator may keep them too.
        "returns.view_returnrule",
        "returns.add_returnrule",
        "returns.change_returnrule",
        # The legal clocks are configuration: the administrator keeps the rules current.
        "quality.view_reportingrule",
        "quality.add_reportingrule",
        "quality.change_reportingrule",
        "work_orders.view_ratecard",
        "work_orders.add_ratecard",
        "work_orders.change_ratecard",
        *TICKETS_READ,
        "tickets.add_slapolicy",
        "tickets.change_slapolicy",
        "tickets.delete_slapolicy",
        "tickets.add_slapolicytarget",
        "tickets.change_slapolicytarget",
        "tickets.delete_slapolicytarget",
        "tickets.add_team",
        "tickets.change_team",
        "accounts.*",
        "inventory.view_stocklocation",
        "inventory.add_stocklocation",
        "inventory.change_stocklocation",
        "auth.*",
        "authtoken.*",
        "axes.*",
        "customers.*",
        "core.view_*",
        "core.add_legalhold",
        "core.change_legalhold",
        *CALENDAR_WRITE,
        *CATALOG_WRITE,
        *INSTALLED_BASE_READ,
    ],
    Role.SERVICE_MANAGER: [
        *MAINTENANCE_MANAGE,  # issue 10 maintenance
        *RETURNS_MANAGE,
        *QUALITY_READ,
        *WORK_ORDERS_MANAGE,
        *TICKETS_DESK,
        "tickets.assign_ticket",
        "tickets.approve_parts_wait",
        "tickets.add_slaexception",
        "tickets.add_team",
        "tickets.change_team",
        "customers.view_*",
        "customers.add_*",
        "customers.change_*",
        "customers.unmask_contact",
        "accounts.view_user",
        "core.view_auditevent",
        *CALENDAR_READ,
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        *TRAINING_MANAGE,
        "training.approve_documentversion",
        *INVENTORY_READ,
        "inventory.approve_requisition",
        "inventory.approve_stockcount",
        "inventory.dispose_parts",
        "installed_base.add_device",
        "installed_base.change_device",
        "installed_base.add_servicecontract",
        "installed_base.change_servicecontract",
        "installed_base.add_delivery",
        "installed_base.change_delivery",
        "installed_base.add_deliveryline",
        "installed_base.change_deliveryline",
    ],
    Role.SERVICE_AGENT: [
        *MAINTENANCE_DESK,  # issue 10 maintenance
        *RETURNS_DESK,
        *WORK_ORDERS_DESK,
        *TICKETS_DESK,
        *TRAINING_STAFF,
        "tickets.assign_ticket",
        "customers.view_*",
        "customers.add_*",
        "customers.change_*",
        "customers.unmask_contact",
        *CALENDAR_READ,
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.add_device",
        "installed_base.change_device",
    ],
    Role.FIELD_ENGINEER: [
        *MAINTENANCE_ENGINEER,  # issue 10 maintenance
        *WORK_ORDERS_ENGINEER,
        *TICKETS_READ,
        "tickets.add_ticket",
        "tickets.work_ticket",
        "tickets.respond_ticket",
        "tickets.add_timelineentry",
        "tickets.unmask_ticket",
        "customers.view_*",
        "customers.unmask_contact",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.change_device",
        *INVENTORY_ENGINEER,
        *TRAINING_STAFF,
    ],
    Role.DISTRIBUTOR_ENGINEER: [
        *MAINTENANCE_ENGINEER,  # issue 10 maintenance
        *RETURNS_READ,
        "returns.add_returnrequest",
        "returns.add_returnfile",
        *WORK_ORDERS_ENGINEER,
        *INVENTORY_ENGINEER,
        # They read the published knowledge base; writing it is the company's.
        *[
            name
            for name in TRAINING_STAFF
            if not name.startswith(("training.add_", "training.change_"))
        ],
        "tickets.view_ticket",
        "tickets.view_timelineentry",
        "tickets.view_ticketclock",
        "tickets.add_ticket",
        "tickets.acknowledge_ticket",
        "tickets.work_ticket",
        "tickets.respond_ticket",
        "tickets.add_timelineentry",
        "customers.view_organization",
        "customers.view_contact",
        "customers.view_department",
        *CATALOG_READ,
        "installed_base.view_device",
        "installed_base.view_servicecontract",
    ],
    Role.QUALITY_STAFF: [
        *MAINTENANCE_READ,  # issue 10 maintenance
        *RETURNS_READ,
        *QUALITY_STAFF_CASES,
        *WORK_ORDERS_READ,
        *TICKETS_READ,
        "tickets.screen_ticket",
        "tickets.add_timelineentry",
        "tickets.unmask_ticket",
        "tickets.add_ticket",
        "customers.view_*",
        "customers.add_organization",
        "customers.change_organization",
        "customers.unmask_contact",
        "core.view_auditevent",
        *CALENDAR_READ,
        *CATALOG_WRITE,
        *INSTALLED_BASE_READ,
        "installed_base.add_hold",
        "installed_base.change_hold",
        *INVENTORY_READ,
        "inventory.change_partlot",
        "inventory.dispose_parts",
        *TRAINING_STAFF,
        "training.add_controlleddocument",
        "training.change_controlleddocument",
        "training.add_documentversion",
        "training.change_documentversion",
    ],
    Role.QUALITY_MANAGER: [
        *MAINTENANCE_READ,  # issue 10 maintenance
        *RETURNS_READ,
        *QUALITY_MANAGE,
        *WORK_ORDERS_READ,
        *TICKETS_READ,
        "tickets.screen_ticket",
        "tickets.add_timelineentry",
        "tickets.unmask_ticket",
        "customers.view_*",
        "customers.unmask_contact",
        "core.view_auditevent",
        "core.view_signature",
        *CALENDAR_READ,
        *CATALOG_WRITE,
        *INSTALLED_BASE_READ,
        "installed_base.add_hold",
        "installed_base.change_hold",
        *INVENTORY_READ,
        "inventory.change_partlot",
        "inventory.dispose_parts",
        *TRAINING_STAFF,
        "training.add_controlleddocument",
        "training.change_controlleddocument",
        "training.add_documentversion",
        "training.change_documentversion",
        "training.approve_documentversion",
    ],
    Role.WAREHOUSE_KEEPER: [
        *RETURNS_WAREHOUSE,
        "work_orders.view_workorder",
        "work_orders.view_partusage",
        *INVENTORY_WAREHOUSE,
        "accounts.view_user",
        "customers.view_organization",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.add_delivery",
        "installed_base.change_delivery",
        "installed_base.add_deliveryline",
        "installed_base.change_deliveryline",
        "installed_base.add_device",
        "installed_base.change_device",
    ],
    Role.FINANCE: [
        *RETURNS_FINANCE,
        *WORK_ORDERS_FINANCE,
        "inventory.view_part",
        "inventory.view_purchaseorder",
        "inventory.view_purchaseorderline",
        "inventory.view_stockmovement",
        "inventory.view_stockbalance",
        "inventory.view_stocklocation",
        "customers.view_organization",
        *CATALOG_READ,
        *INSTALLED_BASE_READ,
        "installed_base.change_servicecontract",
    ],
    Role.STORE_STAFF: [
        "training.view_knowledgearticle",
        "tickets.view_ticket",
        "tickets.view_timelineentry",
        "tickets.add_ticket",
        "tickets.add_timelineentry",
        "customers.view_organization",
        *CATALOG_READ,
        "installed_base.view_device",
    ],
    Role.AUDITOR: ["*.view_*"],
    Role.CUSTOMER_USER: [
        *MAINTENANCE_CUSTOMER,  # issue 10 maintenance
        *RETURNS_CUSTOMER,
        *WORK_ORDERS_CUSTOMER,
        "training.view_knowledgearticle",
        "tickets.view_ticket",
        "tickets.view_timelineentry",
        "tickets.add_ticket",
        "tickets.respond_ticket",
        "tickets.add_timelineentry",
        "customers.view_organization",
        "customers.view_contact",
        "customers.view_department",
        "installed_base.view_device",
        "installed_base.view_delivery",
        "installed_base.view_deliveryline",
        "installed_base.view_servicecontract",
        "catalog.view_devicemodel",
    ],
}


# issue 10 stores: the stores' opinion books, daily reviews, out-of-stock register and
# notices, and the correspondence archive. Store staff keep their own store's books (scoping
# narrows them to it: they lack view_every_store); quality staff oversee every store and turn
# entries into quality cases; service and quality staff file correspondence.
STORES_READ = [
    "feedback.view_storeprofile",
    "feedback.view_every_store",
    "feedback.view_opinionentry",
    "feedback.view_opinionbookreview",
    "feedback.view_missedreview",
    "feedback.view_shortageentry",
]
STORES_STAFF = [
    "feedback.view_storeprofile",
    "feedback.change_storeprofile",
    "feedback.view_opinionentry",
    "feedback.add_opinionentry",
    "feedback.change_opinionentry",
    "feedback.unmask_opinionentry",
    "feedback.view_opinionbookreview",
    "feedback.add_opinionbookreview",
    "feedback.view_missedreview",
    "feedback.view_shortageentry",
    "feedback.add_shortageentry",
    "feedback.change_shortageentry",
    "feedback.close_shortageentry",
    "feedback.unmask_shortageentry",
]
STORES_QUALITY = [
    *STORES_READ,
    "feedback.add_storeprofile",
    "feedback.change_storeprofile",
    "feedback.change_opinionentry",
    "feedback.escalate_opinionentry",
    "feedback.unmask_opinionentry",
    "feedback.add_opinionbookreview",
]
CORRESPONDENCE_WRITE = [
    "feedback.view_letter",
    "feedback.view_letterfile",
    "feedback.add_letter",
    "feedback.change_letter",
]
for _role, _patterns in {
    Role.STORE_STAFF: STORES_STAFF,
    Role.QUALITY_STAFF: [*STORES_QUALITY, *CORRESPONDENCE_WRITE],
    Role.QUALITY_MANAGER: [*STORES_QUALITY, *CORRESPONDENCE_WRITE],
    Role.SERVICE_MANAGER: [
        *STORES_READ,
        "feedback.add_storeprofile",
        "feedback.change_storeprofile",
        "feedback.close_shortageentry",
        *CORRESPONDENCE_WRITE,
    ],
    Role.SERVICE_AGENT: [*STORES_READ, *CORRESPONDENCE_WRITE],
    Role.ADMINISTRATOR: [
        "feedback.view_storeprofile",
        "feedback.view_every_store",
        "feedback.add_storeprofile",
        "feedback.change_storeprofile",
    ],
}.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_patterns]

# issue 10 follow-ups and surveys
# Agents call customers back, record visits and send surveys; managers also answer low scores
# and any routed opinion; every internal role reads the visits and answers what is routed to
# it; customers answer their surveys in the portal.
FEEDBACK_OPINIONS_READ = ["feedback.view_customervisit", "feedback.view_visitopinion"]
FEEDBACK_DESK = [
    *FEEDBACK_OPINIONS_READ,
    "feedback.view_followup",
    "feedback.view_followupattempt",
    "feedback.change_followup",
    "feedback.record_followup",
    "feedback.add_customervisit",
    "feedback.change_customervisit",
    "feedback.add_visitopinion",
    "feedback.view_survey",
    "feedback.view_surveyanswer",
    "feedback.view_surveyescalation",
    "feedback.view_surveyquestion",
    "feedback.send_survey",
    "feedback.view_survey_results",
]
FEEDBACK_ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SERVICE_MANAGER: [
        *FEEDBACK_DESK, "feedback.answer_surveyescalation", "feedback.answer_visitopinion",
        "feedback.add_surveyquestion", "feedback.change_surveyquestion",
        "feedback.view_surveycampaign",
    ],
    Role.SERVICE_AGENT: FEEDBACK_DESK,
    Role.FIELD_ENGINEER: [
        *FEEDBACK_OPINIONS_READ, "feedback.view_followup", "feedback.record_followup",
        "feedback.add_customervisit", "feedback.change_customervisit",
        "feedback.add_visitopinion",
    ],
    Role.DISTRIBUTOR_ENGINEER: ["feedback.view_followup", "feedback.view_survey"],
    Role.QUALITY_STAFF: [*FEEDBACK_OPINIONS_READ, "feedback.view_survey"],
    Role.QUALITY_MANAGER: [
        *FEEDBACK_OPINIONS_READ, "feedback.view_survey", "feedback.view_survey_results",
    ],
    Role.WAREHOUSE_KEEPER: FEEDBACK_OPINIONS_READ,
    Role.FINANCE: FEEDBACK_OPINIONS_READ,
    Role.CUSTOMER_USER: ["feedback.view_survey"],
}  # fmt: skip
for _role, _patterns in FEEDBACK_ROLE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_patterns]

# issue 11 analytics
# Managers see the KPIs and their dashboards and set the targets; quality staff their dashboard;
# the auditor reads everything; a distributor's engineers see the KPIs over the organisations
# they serve (internal-only KPIs hidden).
ANALYTICS_READ = ["analytics.view_kpis", "analytics.view_kpitarget"]
ANALYTICS_ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SERVICE_MANAGER: [*ANALYTICS_READ, "analytics.view_service_dashboard",
                           "analytics.add_kpitarget", "analytics.change_kpitarget"],
    Role.SERVICE_AGENT: [*ANALYTICS_READ, "analytics.view_service_dashboard"],
    Role.QUALITY_MANAGER: [*ANALYTICS_READ, "analytics.view_quality_dashboard"],
    Role.QUALITY_STAFF: [*ANALYTICS_READ, "analytics.view_quality_dashboard"],
    Role.ADMINISTRATOR: [*ANALYTICS_READ, "analytics.add_kpitarget",
                         "analytics.change_kpitarget"],
    Role.AUDITOR: [*ANALYTICS_READ, "analytics.view_service_dashboard",
                   "analytics.view_quality_dashboard"],
    Role.FINANCE: ANALYTICS_READ,
    Role.DISTRIBUTOR_ENGINEER: ["analytics.view_kpis"],
}  # fmt: skip
for _role, _patterns in ANALYTICS_ROLE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_patterns]

# issue 11 evaluation reports
# The service and quality managers read and (re)generate the periodic evaluation reports and
# open improvement actions from them (CAPAs of kind improvement, opened under the analytics
# permission: a service manager still may not open other CAPAs; quality staff run them); the
# auditor reads them.
EVALUATION_REPORTS_READ = [
    "analytics.view_evaluationreport",
    "analytics.view_reportimprovementaction",
]
EVALUATION_REPORTS_ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SERVICE_MANAGER: [*EVALUATION_REPORTS_READ, "analytics.generate_evaluationreport",
                           "analytics.add_reportimprovementaction"],
    Role.QUALITY_MANAGER: [*EVALUATION_REPORTS_READ, "analytics.generate_evaluationreport",
                           "analytics.add_reportimprovementaction"],
    Role.AUDITOR: EVALUATION_REPORTS_READ,
}  # fmt: skip
for _role, _patterns in EVALUATION_REPORTS_ROLE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_patterns]

# issue 11 spot checks
# Service managers keep the plans, draw samples by hand and review; quality and the auditor
# read every sample and finding; engineers see the reviewed findings on their own records
# (scoping narrows them: they lack view_every_spotcheckitem).
SPOT_CHECKS_READ = [
    "analytics.view_spotcheckplan",
    "analytics.view_spotcheckchecklistitem",
    "analytics.view_spotchecksample",
    "analytics.view_spotcheckitem",
    "analytics.view_every_spotcheckitem",
]
SPOT_CHECKS_ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SERVICE_MANAGER: [
        *SPOT_CHECKS_READ, "analytics.add_spotcheckplan", "analytics.change_spotcheckplan",
        "analytics.add_spotcheckchecklistitem", "analytics.change_spotcheckchecklistitem",
        "analytics.delete_spotcheckchecklistitem", "analytics.add_spotchecksample",
        "analytics.review_spotcheckitem",
    ],
    Role.QUALITY_MANAGER: SPOT_CHECKS_READ,
    Role.QUALITY_STAFF: SPOT_CHECKS_READ,
    Role.AUDITOR: SPOT_CHECKS_READ,
    Role.FIELD_ENGINEER: ["analytics.view_spotchecksample", "analytics.view_spotcheckitem"],
}  # fmt: skip
for _role, _patterns in SPOT_CHECKS_ROLE_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_patterns]


# issue 12 intake
# An integration account (a call centre, a WeChat bridge) is a service user that only registers
# requests through POST /api/v1/intake/tickets/ with its token; it reads nothing else. Created
# with `medservice intake-account NAME`.
INTEGRATION_ROLE = "integration"
ROLE_PERMISSIONS[INTEGRATION_ROLE] = ["tickets.add_ticket_via_integration"]

# issue 12 webhooks
# The administrator keeps the outbound webhook subscriptions (receivers, secrets, events), sends
# test events and redelivers; the auditor reads them and their delivery log through "*.view_*".
ROLE_PERMISSIONS[Role.ADMINISTRATOR] = [*ROLE_PERMISSIONS[Role.ADMINISTRATOR], "integrations.*"]

# issue 12 security
# 等保 2.0 separates three administrators, none of whom can do another's job:
# - the system administrator (Role.ADMINISTRATOR) keeps the configuration; it no longer manages
#   accounts, roles or lockouts, nor reads the audit trail;
# - the security administrator manages accounts, roles and lockouts (unlocking deletes the
#   lockout record) and reads the security logs (sign-ins, failures), which it cannot change;
# - the audit administrator reads the audit trail and the security logs and changes nothing.
SECURITY_LOGS_READ = [
    "axes.view_accesslog",
    "axes.view_accessfailurelog",
    "axes.view_accessattempt",
]
ACCOUNTS_ADMINISTRATION = [
    "accounts.*",
    "auth.*",
    "authtoken.*",
    "axes.delete_accessattempt",
    *SECURITY_LOGS_READ,
]
AUDIT_TRAIL_READ = ["core.view_auditevent"]
ROLE_PERMISSIONS[Role.ADMINISTRATOR] = [
    *(
        pattern
        for pattern in ROLE_PERMISSIONS[Role.ADMINISTRATOR]
        if pattern not in ("accounts.*", "auth.*", "authtoken.*", "axes.*")
    ),
    # Teams, dispatch and calendars still name people: the system administrator reads them and
    # keeps the engineers' dispatch profiles.
    "accounts.view_user",
    "accounts.view_engineerprofile",
    "accounts.add_engineerprofile",
    "accounts.change_engineerprofile",
    *(f"!{name}" for name in AUDIT_TRAIL_READ),
]
ROLE_PERMISSIONS[Role.SECURITY_ADMINISTRATOR] = [
    *ACCOUNTS_ADMINISTRATION,
    # Users belong to organisations: the security administrator picks them, changes none.
    "customers.view_organization",
    # A portal invitation creates a customer's account: the security administrator sends it
    # from the contact's page (and records the consent given), without editing the contact.
    "customers.view_contact",
    # Dispatch profiles are the system administrator's configuration, not an account matter.
    "!accounts.add_engineerprofile",
    "!accounts.change_engineerprofile",
    "!accounts.delete_engineerprofile",
]
ROLE_PERMISSIONS[Role.AUDIT_ADMINISTRATOR] = [
    *AUDIT_TRAIL_READ,
    *SECURITY_LOGS_READ,
    # Who an event's actor was.
    "accounts.view_user",
]


def permissions_matching(patterns: list[str], permissions: list[Permission]) -> list[Permission]:
    granted = [pattern for pattern in patterns if not pattern.startswith("!")]
    withheld = [pattern[1:] for pattern in patterns if pattern.startswith("!")]
    chosen = []
    for permission in permissions:
        name = f"{permission.content_type.app_label}.{permission.codename}"
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in withheld):
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in granted):
            chosen.append(permission)
    return chosen


def roles_sync(*, using: str = "default") -> None:
    permissions = list(Permission.objects.using(using).select_related("content_type"))
    for role, patterns in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=str(role))
        group.permissions.set(permissions_matching(patterns, permissions))

"""The company hears of its scheduled export: an e-mail in Norwegian to the addresses on its schedule when the
export completes, fails, rolls back or cannot start, with the reason and a link to the export.

An e-mail is a courtesy on top of the export list, never part of the outcome: one that cannot be sent is
logged (and counted, `NotificationsFailed`) and the export's end stands. A user's own rollback or resume of a
scheduled export sends nothing (they are looking at it).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..domain.lines import nok
from ..observability import logger, metrics
from ..records import ExportPhase, ExportRecord, ExportStatus
from .exports import problem_code
from .services import Services

MONTHS = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
]

# Why a scheduled export could not start, or stopped: what the company reads (the codes the API answers).
REASONS = {
    "INTEGRATION_INACTIVE": "PowerOffice Go-integrasjonen er ikke slått på. En administrator må aktivere den "
    "med selskapets klientnøkkel.",
    "ABAX_INACTIVE": "ABAX er ikke koblet til. En administrator må koble til ABAX med selskapets API-klient "
    "(klient-ID og hemmelighet fra ABAX).",
    "ALREADY_EXPORTED": "Alle kjørebøkene i perioden inneholder turer som allerede er eksportert.",
    "EXPORT_IN_PROGRESS": "En annen eksport for selskapet pågikk. Neste daglige kjøring prøver igjen.",
    "PAY_ITEM_NOT_FOUND": "en lønnsart finnes ikke (eller er inaktiv) i PowerOffice Go",
    "EMPLOYEE_NUMBER_MISSING": "en sjåfør mangler ansattnummer i ABAX",
    "EMPLOYEE_NOT_FOUND": "et ansattnummer finnes ikke i PowerOffice Go",
    "PAY_CODE_NOT_CONFIGURED": "en kategori med data har ingen lønnsart",
    "RATE_MISSING": "en tur har ingen sats for sin dato",
    "TAXABLE_EXCESS_NOT_HANDLED": "den skattepliktige delen over skattefri sats har ingen lønnsart",
    "PAY_ITEM_INCOMPATIBLE": "en lønnsart passer ikke til kategorien",
    "PAY_ITEM_REPORTING_MISMATCH": "en lønnsarts a-meldingskoding passer ikke til kategorien",
    "TRIP_UNDOCUMENTED": "en tur mangler formål eller start- og sluttsted",
    "PUSH_FAILED": "PowerOffice Go avviste en lønnslinje.",
    "SOURCE_UNAVAILABLE": "ABAX svarte ikke.",
    "SOURCE_CHANGED": "Turene i ABAX endret seg mens eksporten pågikk.",
    "TIMED_OUT": "Eksporten brukte for lang tid.",
    "RUN_STOPPED": "Kjøringen ble stoppet før eksporten var ferdig.",
    "START_FAILED": "Eksporten kunne ikke startes på grunn av en teknisk feil; driften er varslet.",
    "CREDENTIALS_GONE": "PowerOffice Go-nøkkelen eksporten ble startet med, er ikke lenger lagret.",
}
TECHNICAL = "En teknisk feil stoppet eksporten; driften er varslet."


def _period(record_period: Any) -> str:
    start, end = date.fromisoformat(record_period.start), date.fromisoformat(record_period.end)
    if start.day == 1 and start.month == end.month and start.year == end.year:
        return f"{MONTHS[start.month - 1]} {start.year}"
    return f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"


def _link(services: Services, export_id: str) -> str:
    base = services.settings.web_app_url.rstrip("/")
    return f"{base}/#/exports/{export_id}" if base else f"eksport-ID {export_id}"


def _problem_reason(record: ExportRecord) -> str:
    codes = [
        str(problem.get("code")) for problem in record.problems if problem.get("severity", "error") == "error"
    ]
    found = [REASONS.get(code, code) for code in dict.fromkeys(codes)]
    return (
        "Kontrollen fant feil som må rettes før eksporten kan kjøres: " + "; ".join(found) + "."
        if found
        else TECHNICAL
    )


def _error_reason(record: ExportRecord) -> str:
    if record.error is None:
        return TECHNICAL
    return REASONS.get(problem_code(record.error.code), TECHNICAL)


def message(services: Services, record: ExportRecord) -> tuple[str, str] | None:
    """Subject and body of the e-mail about a scheduled export's end, or None when it says nothing new."""
    period, link = _period(record.period), _link(services, record.export_id)
    status = record.status
    if status is ExportStatus.COMPLETED:
        subject = f"Kjøregodtgjørelse for {period} er sendt til PowerOffice Go"
        lines = [
            f"Den planlagte eksporten av kjørebøker for {period} er fullført.",
            f"{record.line_count} lønnslinjer, til sammen {nok(Decimal(record.total_amount or '0'))} kr, ligger nå som "
            "importert lønnsgrunnlag i PowerOffice Go og blir med i neste lønnskjøring.",
        ]
    elif status is ExportStatus.VALIDATION_FAILED:
        subject = f"Eksporten for {period} ble stoppet av kontrollen"
        lines = [_problem_reason(record), "Ingenting ble sendt til PowerOffice Go."]
    elif status is ExportStatus.ROLLED_BACK:
        subject = f"Eksporten for {period} feilet og ble rullet tilbake"
        lines = [_error_reason(record), "Alle lønnslinjene som ble laget, er slettet igjen i PowerOffice Go."]
    elif status is ExportStatus.ROLLBACK_INCOMPLETE:
        left = len((record.rollback or {}).get("left_behind") or [])
        subject = f"Eksporten for {period} feilet: lønnslinjer ligger igjen i PowerOffice Go"
        lines = [
            _error_reason(record),
            f"{left} lønnslinjer ligger igjen i PowerOffice Go. Åpne eksporten for å angre dem eller fullføre "
            "eksporten før neste lønnskjøring.",
        ]
    elif status is ExportStatus.FAILED and record.phase is ExportPhase.NOT_STARTED:
        subject = f"Den planlagte eksporten for {period} ble ikke startet"
        lines = [_error_reason(record)]
    elif status is ExportStatus.FAILED:
        subject = f"Eksporten for {period} feilet"
        lines = [
            _error_reason(record),
            "Ingenting ble sendt til PowerOffice Go. Åpne eksporten for å prøve igjen.",
        ]
    else:
        return None
    body = "\n\n".join(["Hei,", *lines, f"Se eksporten: {link}", "Hilsen ABAX lønnseksport"]) + "\n"
    return subject, body


def send_about(services: Services, record: ExportRecord) -> bool:
    """E-mail the addresses on the company's schedule about this scheduled export; False when none was sent."""
    if not services.settings.notification_sender:
        return False  # the deployment names no sender: notifications are off
    if record.trigger != "schedule" or record.recovery_action is not None:
        return False
    recipients = services.store.tenants.get_schedule(record.tenant_id).notification_emails
    composed = message(services, record)
    if not recipients or composed is None:
        return False
    try:
        services.mailer.send(recipients, *composed)
    except Exception as error:  # noqa: BLE001 - the export's end stands; the e-mail is a courtesy
        metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
        logger.warning(
            "e-mail about a scheduled export not sent",
            extra={"export_id": record.export_id, "error": type(error).__name__},
        )
        return False
    logger.info(
        "e-mail about a scheduled export sent", extra={"export_id": record.export_id, "to": len(recipients)}
    )
    return True


def export_finished(services: Services, tenant_id: str, export_id: str, status: ExportStatus) -> None:
    """ExportStore's finished hook: the scheduled export's own run ended (a refused start is sent by the
    schedule itself, `send_about`, once it recorded it)."""
    try:
        # Consistent: the write that finished it was a moment ago.
        record = services.store.exports.get_export(tenant_id, export_id, consistent=True)
        if record is not None and record.phase is not ExportPhase.NOT_STARTED:
            send_about(services, record)
    except Exception as error:  # noqa: BLE001 - never fail the step that finished the export
        logger.warning(
            "scheduled export's e-mail skipped", extra={"export_id": export_id, "error": type(error).__name__}
        )

"""Routes: payroll codes, rates, schedule, preview, start, list and read exports (admin and payroll)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from ..domain.period import Period
from ..domain.rates import Rate
from ..errors import NotFound
from ..records import RecoveryAction
from ..workflow import configuration, exports, previews, recovery
from ..workflow.services import services
from .common import caller
from .models import ExportStarted, PayrollCodes, PeriodRequest, Rates, RecoveryAnswer, Schedule
from .responses import (
    ExportDetail,
    ExportList,
    LeftBehindPage,
    LinePage,
    PayItemsAnswer,
    PayrollCodesAnswer,
    Preview,
    PreviewPending,
    PreviewResource,
    ProblemPage,
    RatesAnswer,
    Report,
)

router = Router()
# Items of a problem, or lines, per page: a page stays far below Lambda's 6 MB response (a line is about 650
# bytes, an item well under 1 KB, except a few whose lists name every employee of one pay item: there are as
# many of those as pay items).
PAGE_MAX = 1000
EXPORT_ID = r"^[0-9]{8}T[0-9]{6}([0-9]{3})?Z-[0-9a-f]{8}$"  # milliseconds since ids sort the list


@router.get("/payroll-codes", summary="The pay-item code of each category")
def get_codes() -> PayrollCodesAnswer:
    return PayrollCodesAnswer.model_validate(configuration.get_codes(services(), caller(router).tenant_id))


@router.put("/payroll-codes", summary="Map categories to pay-item codes")
def put_codes(body: PayrollCodes) -> PayrollCodesAnswer:
    who = caller(router)
    return PayrollCodesAnswer.model_validate(
        configuration.put_codes(
            services(), who.tenant_id, body.codes, who.user, body.taxable_excess, body.undocumented_trips
        )
    )


@router.get(
    "/pay-items", summary="PowerOffice Go's pay items (code, name, kind, active) for mapping codes by name"
)
def get_pay_items() -> PayItemsAnswer:
    return PayItemsAnswer.model_validate(configuration.list_pay_items(services(), caller(router).tenant_id))


@router.get(
    "/rates",
    summary="Paid and tax-free rates per km category and period (the state rates of each year until changed), the "
    "rates in force today and, from December, a warning when next year's are missing",
)
def get_rates() -> RatesAnswer:
    return RatesAnswer.model_validate(configuration.get_rates(services(), caller(router).tenant_id))


@router.put("/rates", summary="Replace the rate table (and the tax-free table when given)")
def put_rates(body: Rates) -> RatesAnswer:
    who = caller(router)
    rates = [Rate(entry.category, entry.valid_from, entry.rate, entry.valid_to) for entry in body.rates]
    tax_free = (
        None
        if body.tax_free_rates is None
        else [
            Rate(entry.category, entry.valid_from, entry.rate, entry.valid_to)
            for entry in body.tax_free_rates
        ]
    )
    return RatesAnswer.model_validate(
        configuration.put_rates(
            services(), who.tenant_id, rates, who.user, tax_free, body.passenger_supplement
        )
    )


@router.get("/schedule", summary="The monthly export schedule")
def get_schedule() -> Schedule:
    return Schedule(**configuration.get_schedule(services(), caller(router).tenant_id).model_dump())


@router.put("/schedule", summary="Turn the monthly export of the previous month on or off")
def put_schedule(body: Schedule) -> Schedule:
    who = caller(router)
    return Schedule(
        **configuration.put_schedule(
            services(), who.tenant_id, body.enabled, body.day_of_month, who.user, body.notification_emails
        ).model_dump()
    )


@router.post(
    "/exports/preview",
    summary="Find logbooks, validate and show the lines; creates nothing. 202 and a preview to poll when ABAX "
    "takes longer than API Gateway's 29 s allow",
    responses={
        202: {
            "description": "Still reading ABAX: poll GET /exports/previews/{preview_id} (also in Location)",
            "content": {"application/json": {"model": PreviewPending}},
        }
    },
)
def preview(body: PeriodRequest) -> Response[Preview | PreviewPending]:
    who = caller(router)
    period = Period.parse(body.start, body.end)
    status, answer = previews.search(services(), who.tenant_id, period, body.logbook_ids)
    if status == 202:
        location = {"Location": f"/v1/exports/previews/{answer['preview_id']}"}
        return Response(202, "application/json", PreviewPending.model_validate(answer), headers=location)
    return Response(200, "application/json", Preview.model_validate(answer))


@router.get(
    "/exports/previews/<preview_id>",
    summary="A search that goes on in the background: its progress while ABAX is read, then the preview",
)
def get_preview(preview_id: Annotated[str, Path(max_length=64)]) -> PreviewResource:
    who = caller(router)
    _known_form(preview_id, "preview")
    return PreviewResource.model_validate(previews.get_preview(services(), who.tenant_id, preview_id))


@router.post(
    "/exports",
    summary="Start an export (202); 409 when one runs or trips were exported",
    responses={
        202: {"description": "The export runs", "content": {"application/json": {"model": ExportStarted}}}
    },
)
def start(body: PeriodRequest) -> Response[ExportStarted]:
    who = caller(router)
    period = Period.parse(body.start, body.end)
    started = exports.start_export(services(), who.tenant_id, period, body.logbook_ids, "manual", who.user)
    return Response(status_code=202, content_type="application/json", body=ExportStarted(**started))


@router.get("/exports", summary="Exports, newest first")
def list_exports(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> ExportList:
    return ExportList.model_validate(
        exports.list_exports(services(), caller(router).tenant_id, limit, next_token)
    )


@router.get("/exports/<export_id>", summary="One export with its lines, problems and rollback result")
def get_export(export_id: Annotated[str, Path(max_length=64)]) -> ExportDetail:
    who = caller(router)
    _known_form(export_id, "export")
    return ExportDetail.model_validate(exports.get_export(services(), who.tenant_id, export_id))


PageOffset = Annotated[int, Query(ge=0)]
PageLimit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
ProblemCode = Annotated[str, Path(max_length=64, pattern=r"^[A-Z_]+$")]


def _known_form(resource_id: str, kind: str) -> None:
    """An id not of the form this API gives its exports and searches names nothing of the company: 404."""
    if not re.match(EXPORT_ID, resource_id):
        raise NotFound(f"no {kind} {resource_id!r} for this company")


@router.get(
    "/exports/previews/<preview_id>/lines",
    summary="The lines of a finished search page by page (its answer holds the first 1,000)",
)
def get_preview_lines(
    preview_id: Annotated[str, Path(max_length=64)], offset: PageOffset = 0, limit: PageLimit = PAGE_MAX
) -> LinePage:
    who = caller(router)
    _known_form(preview_id, "preview")
    return LinePage.model_validate(
        previews.preview_lines(services(), who.tenant_id, preview_id, offset, limit)
    )


@router.get(
    "/exports/previews/<preview_id>/problems/<code>",
    summary="One problem of a finished search whole, its items page by page (a long one is summarized in the "
    "search's answer)",
)
def get_preview_problem(
    preview_id: Annotated[str, Path(max_length=64)],
    code: ProblemCode,
    offset: PageOffset = 0,
    limit: PageLimit = PAGE_MAX,
) -> ProblemPage:
    who = caller(router)
    _known_form(preview_id, "preview")
    return ProblemPage.model_validate(
        previews.preview_problem(services(), who.tenant_id, preview_id, code, offset, limit)
    )


@router.get(
    "/exports/<export_id>/lines",
    summary="An export's lines page by page (its detail holds the first 1,000)",
)
def get_export_lines(
    export_id: Annotated[str, Path(max_length=64)], offset: PageOffset = 0, limit: PageLimit = PAGE_MAX
) -> LinePage:
    who = caller(router)
    _known_form(export_id, "export")
    return LinePage.model_validate(exports.export_lines(services(), who.tenant_id, export_id, offset, limit))


@router.get(
    "/exports/<export_id>/left-behind",
    summary="The salary lines the export's rollback left in PowerOffice Go, page by page (its detail names the "
    "first 100 and left_behind_count)",
)
def get_left_behind(
    export_id: Annotated[str, Path(max_length=64)], offset: PageOffset = 0, limit: PageLimit = PAGE_MAX
) -> LeftBehindPage:
    who = caller(router)
    _known_form(export_id, "export")
    return LeftBehindPage.model_validate(
        exports.left_behind(services(), who.tenant_id, export_id, offset, limit)
    )


@router.get(
    "/exports/<export_id>/problems/<code>",
    summary="One validation problem or warning of an export whole, its items page by page (an export keeps a "
    "summary of each; a company of thousands of drivers can have thousands of items)",
)
def get_problem(
    export_id: Annotated[str, Path(max_length=64)],
    code: ProblemCode,
    offset: PageOffset = 0,
    limit: PageLimit = PAGE_MAX,
) -> ProblemPage:
    who = caller(router)
    _known_form(export_id, "export")
    return ProblemPage.model_validate(
        exports.problem_items(services(), who.tenant_id, export_id, code, offset, limit)
    )


def _recover(export_id: str, action: RecoveryAction) -> Response[RecoveryAnswer]:
    who = caller(router)
    _known_form(export_id, "export")
    started, answer = recovery.request(services(), who.tenant_id, export_id, action, who.user)
    return Response(
        status_code=202 if started else 200, content_type="application/json", body=RecoveryAnswer(**answer)
    )


RECOVERY_RESPONSES: dict[int, Any] = {
    202: {
        "description": "The run started (or is already running)",
        "content": {"application/json": {"model": RecoveryAnswer}},
    },
    200: {
        "description": "Nothing to do; the export's status",
        "content": {"application/json": {"model": RecoveryAnswer}},
    },
}


@router.post(
    "/exports/<export_id>/rollback",
    summary="Roll back again (after locked lines were released in Go), or undo a COMPLETED export none of whose "
    "lines is in a payroll; 409 while an export of the company runs",
    responses=RECOVERY_RESPONSES,
)
def rollback(export_id: Annotated[str, Path(max_length=64)]) -> Response[RecoveryAnswer]:
    return _recover(export_id, recovery.ROLLBACK)


@router.post(
    "/exports/<export_id>/resume",
    summary="Create the missing lines of a ROLLBACK_INCOMPLETE export whose left-behind lines are in a payroll, "
    "so every trip is paid once (ends COMPLETED); 409 while an export of the company runs",
    responses=RECOVERY_RESPONSES,
)
def resume(export_id: Annotated[str, Path(max_length=64)]) -> Response[RecoveryAnswer]:
    return _recover(export_id, recovery.RESUME)


# Which part of a documentation report (`parts` in the JSON, X-Report-Parts with the CSV says how many).
ReportPart = Annotated[int, Query(ge=0, le=100_000)]


@router.get(
    "/exports/<export_id>/report",
    summary="The documentation report (skattebetalingsforskriften § 5-6-12): every trip per employee and month, "
    "with supplements, passengers, rate, amount, tax-free and taxable part and its salary line; one part at a "
    "time (`part`, from 0; `parts` says how many: a few thousand rows each)",
)
def get_report(export_id: Annotated[str, Path(max_length=64)], part: ReportPart = 0) -> Report:
    who = caller(router)
    _known_form(export_id, "export")
    return Report.model_validate(exports.documentation_report(services(), who.tenant_id, export_id, part))


@router.get(
    "/exports/<export_id>/report.csv",
    summary="The documentation report as CSV: UTF-8 with BOM, ';'-separated, Norwegian decimals and dates; one "
    "part at a time (`part`, from 0; the X-Report-Parts header says how many). Part 0 begins with the BOM and "
    "the header row, later parts carry rows only: the parts joined in order are the whole report's CSV",
    responses={
        200: {
            "description": "The part of the report",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {"X-Report-Parts": {"description": "How many parts", "schema": {"type": "integer"}}},
        }
    },
)
def get_report_csv(export_id: Annotated[str, Path(max_length=64)], part: ReportPart = 0) -> Response[str]:
    who = caller(router)
    _known_form(export_id, "export")
    text, parts = exports.documentation_csv(services(), who.tenant_id, export_id, part)
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=text,
        headers={
            "Content-Disposition": f'attachment; filename="kjoregodtgjorelse-{export_id}.csv"',
            "X-Report-Parts": str(parts),
            "X-Report-Part": str(part),
        },
    )

"""How big one part of a documentation report may be (apart from the report, so the settings need not import it)."""

# A report is kept and answered in parts (issue 16: 5,000 drivers are some 300,000 rows, and Lambda answers at
# most 6 MB): at most `REPORT_PART_ROWS` rows (the setting) and about REPORT_PART_BYTES of answer, so a part's
# JSON and CSV stay well under 6 MB and a part's rows take a few MB of memory whatever ABAX sends.
REPORT_PART_ROWS = 5000
REPORT_PART_BYTES = 3_000_000

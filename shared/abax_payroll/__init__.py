"""ABAX trip logbooks to PowerOffice Go salary lines: the library every Lambda function imports."""

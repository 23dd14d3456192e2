"""The built-in demo company: ABAX and PowerOffice Go data files in the real APIs' shapes."""

"""Every write of the imports domain (issue 15): storing an upload (``storage``), the job a
worker claims and runs (``worker``, ``jobs``), and the chunk of rows it decides and writes at
once (``batch``). What reads and checks a row without the database is beside this package
(``reading``, ``checks``, ``opt_outs``).
"""
from portal.imports.operations.jobs import (create_import, get_import, list_imports, plans_of_their_own,
                                            refused_csv, refused_rows, run)

__all__ = ["create_import", "get_import", "list_imports", "plans_of_their_own", "refused_csv", "refused_rows",
           "run"]

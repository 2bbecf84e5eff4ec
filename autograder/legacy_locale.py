"""Servers whose locale is not UTF-8 (es_CO.ISO-8859-1, zh_CN.GBK): nbgrader and JupyterHub write UTF-8 there too."""
import codecs
import locale


def legacy_encoding() -> str | None:
    """The encoding of this server's locale (``LANG``, ``LC_ALL``) if it is not UTF-8 (``ISO-8859-1``, ``GBK``); None
    if it is. Unchanged by Python's UTF-8 mode, which the kit's commands switch to there (``__main__``)."""
    codeset = locale.nl_langinfo(locale.CODESET)
    try:
        return None if not codeset or codecs.lookup(codeset).name == "utf-8" else codeset
    except LookupError:  # a name Python does not know: not UTF-8's
        return codeset

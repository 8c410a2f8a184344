"""docutils converts a reStructuredText file (sys.argv[1]) to HTML (sys.argv[2]), as its
`rst2html5` front end does. No datestamp; the `<meta name="generator">` line names the
docutils version, the same wheel under both interpreters, so it is kept and compared."""
import sys

from docutils.core import publish_file

publish_file(
    source_path=sys.argv[1],
    destination_path=sys.argv[2],
    writer_name="html5",
    settings_overrides={
        "generator": False,
        "datestamp": False,
        "embed_stylesheet": False,
        "stylesheet_path": "",
        "stylesheet": "",
        "output_encoding": "utf-8",
        "input_encoding": "utf-8",
        "report_level": 5,
        "halt_level": 5,
        "warning_stream": sys.stderr,
    },
)
print("converted")

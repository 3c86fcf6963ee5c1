from digest.cli import run

run()

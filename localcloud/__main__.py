from localcloud.cli import run

run()

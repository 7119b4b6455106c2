"""The `nerflow` command. Each subcommand's module adds its arguments and a `run(args) -> exit status`."""

import argparse
import sys

from nerflow import predict, report


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nerflow", description="Named-entity recognition with nerflow models.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict.add_arguments(commands.add_parser("predict", help="tag texts with a trained model"))
    report.add_arguments(commands.add_parser("report", help="markdown: params, metrics and F1 by type against a revision"))
    return top


def main(argv: list = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

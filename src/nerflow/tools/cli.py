"""The `nerflow` command. Each subcommand's module adds its arguments and a `run(args) -> exit status`."""

import argparse
import sys

from nerflow.tools import predict, rank, report, seeds, serve


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nerflow", description="Fine-tuned encoders of nerflow pipelines: predict, serve, rank, report, seeds.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict.add_arguments(commands.add_parser("predict", help="run a trained model on texts (entities or labels)"))
    report.add_arguments(commands.add_parser("report", help="markdown: params, metrics and F1 by type or class against a revision"))
    seeds.add_arguments(commands.add_parser("seeds", help="markdown: mean and spread over seeds of each setting's experiments"))
    serve.add_arguments(commands.add_parser("serve", help="a model over HTTP: plain clients, and Label Studio's ML backend"))
    rank.add_arguments(commands.add_parser("rank", help="a pool of texts, the ones most worth annotating first, for Label Studio and doccano"))
    return top


def main(argv: list = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

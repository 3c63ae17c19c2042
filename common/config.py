"""Run configurations as dataclasses, and the command line generated from them.

A script's options are the fields of one dataclass (nanoGPT's GPTConfig): the defaults sit in
one visible place, the parsed command line *is* the config, and the config -- saved in the
checkpoint as a plain dict -- is what rebuilds the run. Sweeps, tuners and publishers build
configs with ``dataclasses.replace`` instead of argument strings.

    @dataclass
    class TrainConfig:
        lr: float = option(2e-4, "Adam learning rate", type=positive_float)

    parser = config_parser(TrainConfig, description="...")
    config = parse_config(TrainConfig, parser, argv)
"""
import argparse
import dataclasses
import sys
import typing


def option(default, help, type=None, choices=None, flag=None, metavar=None, nargs=None, required=False):
    """A dataclass field that is also a command-line option ``--NAME`` (or ``flag``).

    A bool field becomes a switch (store_true); a list default a ``nargs='+'`` option.
    """
    meta = {"help": help, "type": type, "choices": choices, "flag": flag, "metavar": metavar, "nargs": nargs,
            "required": required}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: list(default) if isinstance(default, list) else dict(default),
                                 metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _options(cls):
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def _default(f):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def add_config_args(parser, cls, defaults=None):
    """Add one option per field of ``cls`` declared with :func:`option`; ``defaults`` overrides some."""
    defaults = defaults or {}
    hints = typing.get_type_hints(cls)
    for f in _options(cls):
        m = f.metadata
        flag = m["flag"] or f"--{f.name}"
        default = defaults.get(f.name, _default(f))
        if hints.get(f.name) is bool:  # on by default: --no-NAME turns it off
            parser.add_argument(flag, dest=f.name, default=default, help=m["help"],
                                action=argparse.BooleanOptionalAction if default else "store_true")
            continue
        kwargs = {"dest": f.name, "default": default, "help": m["help"]}
        for key in ("type", "choices", "metavar", "nargs"):
            if m[key] is not None:
                kwargs[key] = m[key]
        if m.get("required"):
            kwargs["required"] = True
        if isinstance(default, list) and "nargs" not in kwargs:
            kwargs["nargs"] = "+"
        parser.add_argument(flag, **kwargs)
    return parser


def explicit_options(parser, argv):
    """The dests the command line ``argv`` sets explicitly (not left at their defaults)."""
    probe = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            kwargs = {"dest": action.dest, "default": argparse.SUPPRESS}
            if isinstance(action, argparse._StoreConstAction):  # store_true, store_false, store_const
                kwargs.update(action="store_const", const=action.const)
            elif isinstance(action, argparse.BooleanOptionalAction):
                kwargs.update(action=argparse.BooleanOptionalAction)
            elif action.nargs is not None:
                kwargs["nargs"] = action.nargs
            probe.add_argument(*action.option_strings, **kwargs)
    given, _ = probe.parse_known_args(sys.argv[1:] if argv is None else argv)
    return set(vars(given))


def config_from_args(cls, args):
    """The config ``cls`` of a parsed namespace (fields the namespace lacks keep their defaults)."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})


def config_from_dict(cls, values, where="checkpoint"):
    """Rebuild a config saved with ``dataclasses.asdict``; unknown keys are an error, missing ones default."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{where}: its config has settings this code does not know: {', '.join(unknown)}")
    return cls(**values)


def changed_settings(old, new, ignore=()):
    """[(name, old value, new value)] of the fields where two configs differ, ``ignore`` left out."""
    a, b = dataclasses.asdict(old), dataclasses.asdict(new)
    return [(k, a[k], b[k]) for k in a if k not in ignore and a[k] != b[k]]


def device_option():
    return option("auto", "auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps")


def threads_option():
    from common.cli import positive_int
    return option(None, "CPU threads for torch (default: torch's choice, one per core)", type=positive_int)


def seed_option(default=0):
    from common.cli import seed_int
    return option(default, "random seed", type=seed_int)


def new_default(base, name, value):
    """Field ``name`` of the config class ``base`` with another default, for a subclass:
    ``lr: float = new_default(GANConfig, "lr", 4e-4)``."""
    return dataclasses.field(default=value, metadata=base.__dataclass_fields__[name].metadata)

from .cli import main, stop_on_signals

if __name__ == "__main__":
    stop_on_signals()
    raise SystemExit(main())

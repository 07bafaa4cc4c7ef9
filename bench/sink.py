"""`make bench`'s SMTP sink, in its own process like a real mail server: accepts every message, and
when stopped (SIGTERM) writes how many it received to the file named on the command line."""

import signal
import sys
from pathlib import Path

from aiosmtpd.controller import Controller


class Counter:
    received = 0

    async def handle_DATA(self, server, session, envelope):
        Counter.received += 1
        return "250 OK"


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # for sigwait, in every thread
    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    out.write_text(str(Counter.received))


if __name__ == "__main__":
    main()

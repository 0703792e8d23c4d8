"""Check a PyInstaller build starts and works:  python packaging/check_build.py [APP_DIR]

APP_DIR defaults to dist/composer in the checkout. Prints one line per check and exits 1 if any
failed. Needs no display: the GUI check runs Qt on the offscreen platform.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # s; the first start of a cold build reads ~1 GB of libraries


def run(binary: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})})


def last_line(result: subprocess.CompletedProcess) -> str:
    text = (result.stdout.strip() if result.returncode == 0 else result.stderr.strip()) or "(no output)"
    return text.splitlines()[-1]


def main() -> int:
    app = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "composer"
    binary = app / ("composer.exe" if os.name == "nt" else "composer")
    if not binary.is_file():
        print(f"FAIL no binary at {binary}; build it with packaging/build.sh")
        return 1
    bundled = len(list((ROOT / "checkpoints").glob("*.safetensors")))
    # A fresh user model folder and settings, so only the bundled models are listed.
    home = tempfile.mkdtemp(prefix="composer-check-")
    isolated = {"COMPOSER_MODELS": os.path.join(home, "models"), "HOME": home,
                "XDG_CONFIG_HOME": os.path.join(home, "config"), "XDG_DATA_HOME": os.path.join(home, "data")}

    def version():
        result = run(binary, "--version")
        return result.returncode == 0 and result.stdout.startswith("composer "), result.stdout.strip()

    def models():
        result = run(binary, "models", env=isolated)
        listed = sum(" bundled " in line for line in result.stdout.splitlines())
        return result.returncode == 0 and listed == bundled, f"{listed}/{bundled} bundled models listed"

    def gui():
        result = run(binary, "gui", "--self-test", env={**isolated, "QT_QPA_PLATFORM": "offscreen"})
        return result.returncode == 0, f"exit code {result.returncode}" + (
            f": {last_line(result)}" if result.returncode else "")

    def generate():  # imports torch and runs a bundled model
        out = os.path.join(home, "check.mid")
        result = run(binary, "generate", "--model", "pianoroll_lstm-nottingham", "--bars", "2", "--seed", "1",
                     "--out", out, env=isolated)
        return result.returncode == 0 and os.path.isfile(out) and os.path.getsize(out) > 0, last_line(result)

    def render():  # FluidSynth (the system's libfluidsynth on Linux) and the bundled SoundFont
        out = os.path.join(home, "check.wav")
        result = run(binary, "render", os.path.join(home, "check.mid"), out, env=isolated)
        return result.returncode == 0 and os.path.isfile(out) and os.path.getsize(out) > 44, last_line(result)

    failed = 0
    for name, check in [("--version", version), ("models", models), ("gui --self-test (offscreen)", gui),
                        ("generate", generate), ("render", render)]:
        try:
            ok, detail = check()
        except subprocess.TimeoutExpired:
            ok, detail = False, f"no exit within {TIMEOUT} s"
        print(f"{'ok  ' if ok else 'FAIL'} composer {name}: {detail}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The Transport menu's choice of where playback goes: "Play through FluidSynth", or "Send to MIDI
Output" (the virtual port "Composer" where the MIDI system allows one, and every output port) so
a DAW can record what Composer plays. The ports are listed afresh each time the menu opens;
without any, the menu says why and FluidSynth stays."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from composer.gui.transport import FLUIDSYNTH, PlaybackController
from composer.io.midi_output import VIRTUAL_PORT_NAME, OutputPorts, list_output_ports

VIRTUAL_LABEL = f'Virtual Port "{VIRTUAL_PORT_NAME}" (record it in your DAW)'


def output_name(output: str | None) -> str:
    if output == FLUIDSYNTH:
        return "FluidSynth"
    return f'the virtual MIDI port "{VIRTUAL_PORT_NAME}"' if output is None else f"MIDI port {output}"


class MidiOutputMenu(QObject):
    """Adds the output actions to ``menu`` and switches ``controller``'s output."""

    def __init__(self, menu: QMenu, controller: PlaybackController, status: Callable[[str], None],
                 list_ports: Callable[[], OutputPorts] = list_output_ports):
        super().__init__(menu)
        self.controller = controller
        self._status = status
        self._list_ports = list_ports
        self.fluidsynth_action = QAction("Play through &FluidSynth", menu, checkable=True, checked=True)
        self.fluidsynth_action.setToolTip("Hear playback with the SoundFont (the usual way)")
        self.fluidsynth_action.triggered.connect(lambda: self.choose(FLUIDSYNTH))
        menu.addAction(self.fluidsynth_action)
        self.ports_menu = menu.addMenu("Send to &MIDI Output")
        self.ports_menu.setToolTipsVisible(True)
        self.ports_menu.aboutToShow.connect(self.refresh)
        self.ports_menu.addAction("(looking for ports...)").setEnabled(False)

    def refresh(self) -> OutputPorts:
        """List the outputs afresh (the virtual port first); the one in use is checked."""
        ports = self._list_ports()
        self.ports_menu.clear()
        current = self.controller.output
        choices: list[tuple[str, str | None]] = [(VIRTUAL_LABEL, None)] if ports.virtual else []
        choices += [(name, name) for name in ports]
        for label, output in choices:
            action = self.ports_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(output == current)
            action.triggered.connect(lambda _checked=False, o=output: self.choose(o))
        if not choices:
            action = self.ports_menu.addAction(ports.reason or "No MIDI output found")
            action.setEnabled(False)
            action.setToolTip(ports.details or ports.reason)
        self.fluidsynth_action.setChecked(current == FLUIDSYNTH)
        return ports

    def choose(self, output: str | None) -> None:
        self.controller.set_output(output)
        self.fluidsynth_action.setChecked(output == FLUIDSYNTH)
        if output == FLUIDSYNTH:
            self._status("Playback plays through FluidSynth.")
        else:
            self._status(f"Playback goes to {output_name(output)}: arm a MIDI track in your DAW to "
                         "record it.")

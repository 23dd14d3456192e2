"""The local stack: emulators, gateway, moto bootstrap, in-process Lambda runtime and the demo."""

"""What the tests share: constants, real programs to start and stop, the emulator's webhook
stand-in, the webhook app served in-process, log watching. Test modules and conftest files
import from here; no test imports a conftest."""

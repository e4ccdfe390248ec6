"""qsort as guest code: the machine code of guest_qsort.c (beside this file), which the
emulated libc's qsort jumps to for small arrays, so that the comparator calls are guest
calls at the JIT's speed rather than a round trip through Python each (about 9 us, where
the comparator itself is a few dozen instructions: a sort-heavy loop ran ten times slower
than bare Unicorn).  The code has no relocations and uses no global, so it runs wherever
the CPU puts it (cpu.py: in the library region's last page, after the counting sink, where
no hook is).

The bytes are gcc's (the flags below) and are kept here so that the emulator needs no
compiler; `python -m oracle.emulate.guest_code` compiles the C file again and prints the
module's two constants, to be pasted here after a change to it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("guest_qsort.c")
GCC_FLAGS = ("-O2", "-fPIC", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns",
             "-fno-stack-protector", "-fcf-protection=none", "-fno-asynchronous-unwind-tables",
             "-fno-jump-tables")

# bits -> (code, offset of guest_qsort in it)
GUEST_QSORT: dict[int, tuple[bytes, int]] = {
    64: (bytes.fromhex(
    "415741564155415455534883ec3848894c24204c894c24284883fa010f86290100004989d64989d44889cb4d"
    "89cf49d1ee4c8904244889fd4989f54c89f2e8bdffffff4c8b04244c89e24889d94d89f94c29f24a8d7cf500"
    "4c89eee8a0ffffff4c89f34531ff31c94d39e60f83f40000004c8b0424eb23660f1f840000000000498b0148"
    "83c3014b8944fdf84c39f173774c39e30f83c60000004c8d4cdd004c89c74c8904244983c701498b314c8d5c"
    "cd00488b44242048894c2410490faf3b4c894c2408490faff04c895c24184801c74801c6488b442428ffd04c"
    "8b04244c8b4c240885c0488b4c24107f934c8b5c24184883c101498b034b8944fdf84c39f1728e0f1f440000"
    "4c39e373264c89fa4829da498d54d5000f1f8400000000004883c301488b44ddf8488944daf84c39e372ed31"
    "c00f1f00498b54c500488954c5004883c0014939c475ed4883c4385b5d415c415d415e415fc3660f1f440000"
    "4c39f173a34c89f84829c8498d7cc5004889c80f1f4400004883c001488b74c5f8488974c7f84939c675ed4f"
    "8d14374929ca4d89d7e96effffff660f1f44000055488d04f50f0000004989c948c1e80448c1e0044889e541"
    "5741564989f641554c0faff24989fd4154534889d34883ec184829c44889e74829c4498d460f4883e0f04989"
    "e24829c44885f60f84b10000004989e731c0662e0f1f840000000000488904c74989c4488d40014839c675f0"
    "4989d84c89e94889f24c89d648897dc8e8dbfdffff488b7dc84c89f94531c0904885db74234a8b14c731c048"
    "0fafd3498d7415000f1f40000fb614068814014883c0014839c375f0498d40014801d94d39c4740c4989c0eb"
    "c70f1f80000000004d85f6741e31c0660f1f840000000000410fb6140741885405004883c0014939c675ed48"
    "8d65d85b415c415d415e415f5dc34989d04c89e931d24c89d6e84efdffff488d65d85b415c415d415e415f5d"
    "c3"), 0x1A0),
    32: (bytes.fromhex(
    "5557565383ec2c8954240c83f9010f861b01000089cf83ec0489c689cdd1ef89d3897c241889f9ff74244cff"
    "74244cff74244ce8c8ffffff8d04be89e989da8944242c83c40c29f9ff74244cff74244cff74244ce8a7ffff"
    "ff83c41039ef0f832c01000031c9896c241889fb31ff89cd89f1eb258d7426008b068b74240c83c3018944be"
    "fc8b44241439c573608b44241839c30f83a7000000894c24088d349983ec088d14a98b44244c0faf0683c701"
    "03442448508b4424500faf020344244c8954241c50ff5424588b4c241883c41085c07fa48b5424108b74240c"
    "83c5018b028944befc8b44241439c572a08b6c241889ce39eb73188b44240c29df8d14b883c3018b449efc89"
    "449afc39eb72f18b44240c8d0ca88db426000000008d76008b1083c00483c6048956fc39c875f183c42c5b5e"
    "5f5dc38db42600000000669089ce89e989c58b44241439c173a58b54240c895c24108d048e894c24088b4c24"
    "1c8d14ba8d7426008b1883c00483c204895afc39c175f18b4424148b4c24088b5c241001f829c889c7e965ff"
    "ffff66908b5c241431ff31c9ebb48db6000000005589e557565383ec2c8b4d0c8b75148d048d0f000000c1e8"
    "04c1e00429c489e729c48b451089e2897de00fafc18945d083c00f83e0f029c48965dc85c90f84d500000031"
    "c08d760089048789c38d400139c175f483ec048b45e031ff5631f6ff7510ff7508e8f6fdffff8b45088b4d10"
    "83c41001c88945d885c9745e895dd48b5d108db6000000008b45e08b55dc895d108b0cb08b450801fa0fafcb"
    "01c88945e48b45d801c18b45e48db426000000000fb61883c00183c201885aff39c875f08b5d108b4dd48d46"
    "0101df39ce741989c6ebb58d7426009089c68d460139f375f78db426000000008b7dd085ff74218b45dc8b55"
    "0801c789fb8db426000000000fb60883c00183c201884aff39c375f08d65f45b5e5f5dc383ec048b45e031c9"
    "56ff7510ff7508e834fdffff83c4108d65f45b5e5f5dc3"), 0x1A0),
}


def compile_guest_qsort(bits: int) -> tuple[bytes, int]:
    """gcc's .text of guest_qsort.c and guest_qsort's offset in it (needs gcc, objcopy, nm)."""
    with tempfile.TemporaryDirectory() as tmp:
        obj, text = Path(tmp) / "q.o", Path(tmp) / "q.bin"
        subprocess.run(["gcc", f"-m{bits}", *GCC_FLAGS, "-c", "-o", str(obj), str(SOURCE)],
                       check=True)
        relocations = subprocess.run(["readelf", "-rW", str(obj)], check=True,
                                     capture_output=True, text=True).stdout
        if "There are no relocations" not in relocations:
            raise RuntimeError(f"guest_qsort.c compiled with relocations:\n{relocations}")
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.text", str(obj), str(text)],
                       check=True)
        symbols = subprocess.run(["nm", str(obj)], check=True, capture_output=True,
                                 text=True).stdout.split("\n")
        entry = next(int(line.split()[0], 16) for line in symbols
                     if line.endswith(" guest_qsort"))
        return text.read_bytes(), entry


def main() -> int:
    for bits in (64, 32):
        code, entry = compile_guest_qsort(bits)
        print(f"{bits}: {len(code)} bytes, entry {entry:#x}: {code.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

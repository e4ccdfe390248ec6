"""Mach-O programs of several images: an executable, one or two dylibs and, most of the
time, a bundle the executable opens at run time (dlopen, dlsym, dlclose), whose functions
meet across images as dyld binds them.  Written in C (fuzz/macho/images_build.py).

The model (what a drawn program is):

- functions `fK` returning a 32-bit value: a seed, then for each call in the body
  acc = acc * 31 + callee(); a body calls only lower-ranked names (every chain ends);
  one name in three is a data word `dK` instead (its value the seed), which a body or
  `main` reads as it would call a function (acc = acc * 31 + dK[0]), through the GOT;
- a name is either *weak* (defined `__attribute__((weak))` in one to three images, every
  copy weak) or *strong* (defined in exactly one image);
- the images: 0 the executable, 1..L the dylibs (`@rpath/libimgN.dylib`, found through the
  executable's LC_RPATH `@executable_path/../lib`; a dylib may link the later ones,
  through its own LC_RPATH `@loader_path`), L+1 the bundle (`lhimg.bundle`, beside the
  dylibs, opened as `@rpath/lhimg.bundle`).  The executable links every dylib, in a drawn
  order; the bundle links every dylib;
- an image may call a name it defines or one that a dylib it links defines;
- `main` reports acc after each call through libtrace1's `lt1_f1_a1`; with a bundle, it
  then opens it, calls its strong `plug` through dlsym, reports, calls the `after` names,
  reports dlclose's result, and exits with acc & 0xff.

The semantics are dyld's: a call to a strong name reaches its one definition; a call to a
weak name reaches the copy of the first image, in load order (the executable, then the
dylibs in the executable's LC_LOAD_DYLIB order, the bundle last), that defines it among
the images loaded when the caller was bound (the bundle's copies are seen only by the
bundle itself: it comes last, so they never win over an earlier one).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

MASK = 0xFFFFFFFF
PLUG = "plug"
BUNDLE_NAME = "lhimg.bundle"


@dataclass(frozen=True)
class ImageFunction:
    name: str
    image: int
    weak: bool
    seed: int
    body: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        return 1 << 30 if self.name == PLUG else int(self.name[1:])

    @property
    def data(self) -> bool:
        return is_data(self.name)


def is_data(name: str) -> bool:
    return name.startswith("d")


@dataclass(frozen=True)
class ImagesProgram:
    dylibs: int  # L: images 1..L
    bundle: bool  # image L + 1
    exe_order: tuple[int, ...]  # the executable's LC_LOAD_DYLIB order
    functions: tuple[ImageFunction, ...]
    main: tuple[str, ...]
    after: tuple[str, ...] = ()  # called after the bundle's plug

    @property
    def bundle_image(self) -> int:
        return self.dylibs + 1

    def images(self) -> list[int]:
        return list(range(self.dylibs + 1 + (1 if self.bundle else 0)))

    def load_order(self) -> list[int]:
        return [0, *self.exe_order, *([self.bundle_image] if self.bundle else [])]

    def links(self, image: int) -> list[int]:
        """The dylibs an image links (LC_LOAD_DYLIB), in order."""
        if image == 0:
            return list(self.exe_order)
        if self.bundle and image == self.bundle_image:
            return list(range(1, self.dylibs + 1))
        return list(range(image + 1, self.dylibs + 1))

    def definers(self, name: str) -> list[ImageFunction]:
        return [f for f in self.functions if f.name == name]

    def function(self, image: int, name: str) -> ImageFunction:
        return next(f for f in self.functions if f.image == image and f.name == name)


def callable_from(program: ImagesProgram, image: int, name: str) -> bool:
    homes = {f.image for f in program.definers(name)}
    return image in homes or bool(homes & set(program.links(image)))


def binds_to(program: ImagesProgram, image: int, name: str) -> int:
    """The image whose copy of `name` a call from `image` reaches."""
    defs = program.definers(name)
    if not defs[0].weak:
        return defs[0].image
    order = program.load_order()
    if not (program.bundle and image == program.bundle_image):
        order = [i for i in order if not (program.bundle and i == program.bundle_image)]
    homes = {f.image for f in defs}
    return next(i for i in order if i in homes)


def _value(program: ImagesProgram, image: int, name: str) -> int:
    f = program.function(binds_to(program, image, name), name)
    if f.data:
        return f.seed
    acc = f.seed
    for callee in f.body:
        acc = (acc * 31 + _value(program, f.image, callee)) & MASK
    return acc


def outcome(program: ImagesProgram) -> tuple[tuple[int, ...], int]:
    """(the values main reports, in order; the exit status)."""
    reported = []
    acc = 0
    for name in program.main:
        acc = (acc * 31 + _value(program, 0, name)) & MASK
        reported.append(acc)
    if program.bundle:
        acc = (acc * 31 + _value(program, program.bundle_image, PLUG)) & MASK
        reported.append(acc)
        for name in program.after:
            acc = (acc * 31 + _value(program, 0, name)) & MASK
            reported.append(acc)
        reported.append(0)  # dlclose
    return tuple(reported), acc & 0xFF


# -- drawing --

@st.composite
def programs(draw: st.DrawFn) -> ImagesProgram:
    dylibs = draw(st.integers(1, 2))
    bundle = draw(st.integers(0, 2)) > 0
    exe_order = tuple(draw(st.permutations(range(1, dylibs + 1))))
    images = list(range(dylibs + 1 + (1 if bundle else 0)))
    shell = ImagesProgram(dylibs, bundle, exe_order, (), ())
    functions: list[ImageFunction] = []
    for k in range(draw(st.integers(2, 7))):
        prefix = "d" if k and draw(st.integers(0, 2)) == 0 else "f"
        weak = draw(st.integers(0, 4)) < 3
        if weak:
            homes = sorted(draw(st.sets(st.sampled_from(images), min_size=1, max_size=3)))
            if k == 0 and 0 not in homes:
                homes = [0, *homes]  # main can always call something
        else:
            homes = [0] if k == 0 else [draw(st.sampled_from(images))]
        for image in homes:
            functions.append(ImageFunction(f"{prefix}{k}", image, weak,
                                           draw(st.integers(0, MASK))))
    if bundle:
        functions.append(ImageFunction(PLUG, dylibs + 1, False, draw(st.integers(0, MASK))))
    shell = ImagesProgram(dylibs, bundle, exe_order, tuple(functions), ())
    with_bodies = tuple(
        ImageFunction(f.name, f.image, f.weak, f.seed,
                      () if f.data else _calls(draw, shell, f.image, f.rank, 0, 4))
        for f in functions)
    program = ImagesProgram(dylibs, bundle, exe_order, with_bodies, ())
    main = _calls(draw, program, 0, None, 1, 5)
    after = _calls(draw, program, 0, None, 0, 3) if bundle else ()
    return ImagesProgram(dylibs, bundle, exe_order, with_bodies, main, after)


def _calls(draw: st.DrawFn, program: ImagesProgram, image: int, rank: int | None,
           least: int, most: int) -> tuple[str, ...]:
    names = sorted({f.name for f in program.functions if f.name != PLUG
                    and (rank is None or int(f.name[1:]) < rank)
                    and callable_from(program, image, f.name)})
    if not names:
        return ()
    return tuple(draw(st.lists(st.sampled_from(names), min_size=least, max_size=most)))


def describe(program: ImagesProgram) -> set[str]:
    """Coverage labels (fuzz/inventory.py's macho images rows)."""
    labels = {f"macho-images:{program.dylibs}dylib", "macho-images:rpath"}
    if program.bundle:
        labels.add("macho-images:bundle-dlopen")
    for name in {f.name for f in program.functions}:
        defs = program.definers(name)
        if defs[0].weak and len(defs) > 1:
            labels.add("macho-images:weak-coalesced")
            if 0 in {f.image for f in defs}:
                labels.add("macho-images:weak-exe-wins")
    if program.dylibs > 1:
        labels.add("macho-images:loader-path")
    if any(f.data and f.weak and len(program.definers(f.name)) > 1
           for f in program.functions):
        labels.add("macho-images:weak-data")
    return labels


# The hand-made program the property and the harness-power test always judge: two dylibs
# loaded in the order lib2, lib1, and a bundle.
# - f0 is weak in the executable, lib1 and the bundle: the executable's copy serves all;
# - f1 is weak in lib1 and lib2 (lib2 first in load order): lib1's own calls reach lib2's
#   copy, which lib2 never calls itself (so lib2 takes part only through MH_WEAK_DEFINES);
# - f2 is lib1's strong function calling f0 and f1; f3 is weak in lib2 and the bundle, and
#   the bundle's plug reaches lib2's; plug also calls f1, which the bundle links from lib1
#   (first on its command line) and dyld coalesces to lib2's (first in load order);
# - d5 is a weak data word in lib1 and lib2: lib1's own read (through its GOT) and the
#   executable's reach lib2's.
SAMPLE = ImagesProgram(
    dylibs=2, bundle=True, exe_order=(2, 1),
    functions=(
        ImageFunction("f0", 0, True, 0x10),
        ImageFunction("f0", 1, True, 0x11),
        ImageFunction("f0", 3, True, 0x13),
        ImageFunction("f1", 1, True, 0x21),
        ImageFunction("f1", 2, True, 0x22),
        ImageFunction("f2", 1, False, 0x31, ("f0", "f1", "d5")),
        ImageFunction("f3", 2, True, 0x42, ("f1",)),
        ImageFunction("f3", 3, True, 0x43),
        ImageFunction("d5", 1, True, 0x501),
        ImageFunction("d5", 2, True, 0x502),
        ImageFunction(PLUG, 3, False, 0x50, ("f0", "f3", "f2", "f1")),
    ),
    main=("f0", "f1", "f2", "d5"), after=("f1",))

"""Picture framing (builder.predict.framing): a student's picture made to look like the run's data."""
import io

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from builder.predict.framing import DataLook, data_look, frame, is_light
from datasets.pictures import PictureError, read_picture

DIGITS = load_digits().images.astype("float32")  # 8×8, light strokes 0..16 on black
DIGITS_LOOK = data_look(DIGITS / 16)


def drawing_of(digit: np.ndarray, size: int = 256) -> np.ndarray:
    """The digit as a student draws it: black ink on white paper, `size` px, uint8 RGBA."""
    ink = np.kron(digit / 16, np.ones((size // 8, size // 8)))
    grey = (255 * (1 - ink)).round().astype("uint8")
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def test_the_digits_look_dark_plain_and_filled():
    assert DIGITS_LOOK.dark and DIGITS_LOOK.plain and DIGITS_LOOK.fill == 1.0
    assert 0.15 < DIGITS_LOOK.stroke < 0.25  # about 1.5 of 8 pixels


def test_a_256px_black_on_white_drawing_of_a_digit_becomes_its_8x8_0_to_16_input():
    framed = np.stack([frame(drawing_of(d), (8, 8, 1), 16, DIGITS_LOOK)[..., 0] for d in DIGITS[:100]])
    assert framed.dtype == np.float32 and framed.min() >= 0 and framed.max() <= 16
    error = np.abs(framed - DIGITS[:100]).mean(axis=(1, 2))
    assert np.median(error) < 0.1  # a digit that fills its box comes back as it was (up to rounding)
    np.testing.assert_allclose(framed[49], DIGITS[49], atol=0.05)  # one that spans its box: exact
    assert np.mean(error < 0.1) >= 0.45


def test_a_mnist_like_margin_is_kept():
    pictures = np.zeros((20, 28, 28), np.float32)
    pictures[:, 4:24, 13:15] = 1  # a stroke 20 px tall in a 28 px box, like MNIST's margin
    look = data_look(pictures)
    assert look.dark and look.plain and look.fill == pytest.approx(20 / 28)
    drawing = np.full((300, 300), 255, np.uint8)
    drawing[20:280, 140:160] = 0  # a tall bar, drawn to the edges of the paper
    framed = frame(drawing, (28, 28, 1), 255, look)[..., 0]
    rows = np.flatnonzero(framed.max(1) > 128)
    assert (rows[0], rows[-1]) == (4, 23)  # padded back to the data's margin
    cols = np.flatnonzero(framed.max(0) > 128)
    assert len(cols) <= 3  # aspect kept: the thin bar stays thin, not stretched to a square


def test_a_colour_photo_becomes_grey_where_the_data_is_grey():
    photo = np.full((90, 120, 3), 255, np.uint8)
    photo[30:60, 45:60] = (255, 0, 0)  # a red and a black rectangle side by side on white: a 30 px square
    photo[30:60, 60:75] = 0
    framed = frame(photo, (8, 8, 1), 16, DIGITS_LOOK)
    assert framed.shape == (8, 8, 1)
    # cropped to the square, which fills the box; inverted (dark data): black → full ink (16), red → its
    # luminance 0.299 inverted, 0.701 of full ink
    np.testing.assert_allclose(framed[..., 0], np.hstack([np.full((8, 4), 0.701 * 16), np.full((8, 4), 16.0)]),
                               atol=0.01)


def test_a_colour_photo_stays_colour_for_colour_photos():
    look = DataLook(dark=False, plain=False, fill=1.0)  # CIFAR-like: busy backgrounds, no inversion, no crop
    photo = np.zeros((100, 200, 3), np.uint8)
    photo[:, :, 2] = 200  # blue, twice as wide as tall
    photo[:, :50] = (255, 0, 0)  # a red strip on the far left, outside the centred square
    framed = frame(photo, (4, 4, 3), 255, look)
    np.testing.assert_allclose(framed, np.broadcast_to([0, 0, 200], (4, 4, 3)), atol=1)


def test_light_and_dark_paper_are_told_apart():
    paper = np.full((64, 64), 240, np.uint8)
    paper[10:50, 30:34] = 10
    assert is_light(paper) and not is_light(255 - paper)
    assert is_light(np.dstack([paper] * 3)) and not is_light(np.dstack([255 - paper] * 3))
    transparent = np.zeros((64, 64, 4), np.uint8)  # a drawing app's transparent background counts as white paper
    transparent[10:50, 30:34, 3] = 255
    assert is_light(transparent)


def test_a_thin_pen_is_thickened_to_the_data_strokes():
    pad = np.full((280, 280), 255, np.uint8)
    pad[40:240, 136:144] = 0  # an 8 px pen on a 200 px tall "1"
    framed = frame(pad, (8, 8, 1), 16, DIGITS_LOOK)[..., 0]
    assert np.count_nonzero(framed[4] > 8) == 2  # as thick as the data's strokes, not a faint line
    assert framed[:, :3].max() == 0 and framed[:, 5:].max() == 0


def test_dark_paper_for_dark_data_is_not_inverted():
    drawing = np.zeros((64, 64), np.uint8)
    drawing[:, 24:40] = 255  # a white bar on black, like the data itself
    framed = frame(drawing, (8, 8, 1), 16, DIGITS_LOOK)[..., 0]
    assert framed.max() == pytest.approx(16) and framed[:, 0].max() == 0


def _png(width, height, mode="L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), 128).save(buf, format="PNG")
    return buf.getvalue()


def test_uploads_are_checked_by_their_header_before_decoding():
    picture = read_picture(_png(30, 20), 1000)
    assert picture.shape == (20, 30, 4) and picture.dtype == np.uint8 and picture[0, 0, 0] == 128
    with pytest.raises(PictureError, match="60×20 pixels, more pixels than the 1,000 this server decodes"):
        read_picture(_png(60, 20), 1000)
    gif = io.BytesIO()
    Image.new("L", (4, 4)).save(gif, format="GIF")
    with pytest.raises(PictureError, match="GIF file; use a PNG or JPEG"):
        read_picture(gif.getvalue(), 1000)
    with pytest.raises(PictureError, match="not a picture"):
        read_picture(b"hello", 1000)
    from tests.security.hostile import png
    with pytest.raises(PictureError, match="bomb.png has more pixels than the 1,000"):  # past Pillow's own limit
        read_picture(png(100_000, 100_000), 1000, "bomb.png")
    with pytest.raises(PictureError, match="damaged|not a picture"):
        noisy = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 30), np.uint8)).save(noisy, format="PNG")
        read_picture(noisy.getvalue()[:300], 1000)

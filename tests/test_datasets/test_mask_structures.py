"""BitmapMasks / PolygonMasks against hand-made masks and torchvision.ops.roi_align."""
import numpy as np
import pytest
import torch
from torchvision.ops import roi_align

from mmdet_lite.core import BitmapMasks, PolygonMasks, encode_mask_results, mask2ndarray
from mmdet_lite.core.mask import split_combined_polys
import pycocotools.mask as mask_utils


def rect_bitmap(h, w, x1, y1, x2, y2):
    m = np.zeros((h, w), dtype=np.uint8)
    m[y1:y2, x1:x2] = 1
    return m


def rect_poly(x1, y1, x2, y2):
    return [np.array([x1, y1, x2, y1, x2, y2, x1, y2], dtype=np.float64)]


@pytest.fixture
def pair():
    h, w = 20, 30
    boxes = [(2, 3, 12, 9), (15, 10, 28, 18)]
    bitmaps = BitmapMasks(np.stack([rect_bitmap(h, w, *b) for b in boxes]), h, w)
    polys = PolygonMasks([rect_poly(*b) for b in boxes], h, w)
    return bitmaps, polys, boxes


def test_polygon_to_bitmap_equals_drawn_rectangle(pair):
    bitmaps, polys, _ = pair
    np.testing.assert_array_equal(polys.to_ndarray(), bitmaps.masks)
    np.testing.assert_array_equal(polys.to_bitmap().masks, bitmaps.masks)
    np.testing.assert_allclose(polys.areas, bitmaps.areas)
    np.testing.assert_allclose(bitmaps.areas, [60, 104])


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_flip_matches_numpy(pair, direction):
    bitmaps, polys, _ = pair
    axes = {'horizontal': (2,), 'vertical': (1,), 'diagonal': (1, 2)}[direction]
    expected = np.flip(bitmaps.masks, axis=axes)
    np.testing.assert_array_equal(bitmaps.flip(direction).masks, expected)
    np.testing.assert_array_equal(polys.flip(direction).to_ndarray(), expected)
    with pytest.raises(ValueError, match='flip direction'):
        bitmaps.flip('sideways')


def test_resize_rescale_and_pad(pair):
    bitmaps, polys, boxes = pair
    out = bitmaps.resize((40, 60))
    assert out.masks.shape == (2, 40, 60)
    expected = np.stack([rect_bitmap(40, 60, *(2 * v for v in b)) for b in boxes])
    np.testing.assert_array_equal(out.masks, expected)
    np.testing.assert_array_equal(polys.resize((40, 60)).to_ndarray(), expected)
    # rescale by a factor keeps the aspect ratio
    assert bitmaps.rescale(2.0).masks.shape == (2, 40, 60)
    assert polys.rescale(2.0).height == 40 and polys.rescale(2.0).width == 60
    padded = bitmaps.pad((25, 32))
    assert padded.masks.shape == (2, 25, 32)
    np.testing.assert_array_equal(padded.masks[:, :20, :30], bitmaps.masks)
    assert padded.masks[:, 20:].sum() == 0 and padded.masks[:, :, 30:].sum() == 0
    np.testing.assert_array_equal(polys.pad((25, 32)).to_ndarray(), padded.masks)


def test_crop_and_expand(pair):
    bitmaps, polys, _ = pair
    box = np.array([1, 2, 20, 15])
    cropped = bitmaps.crop(box)
    assert (cropped.height, cropped.width) == (13, 19)
    np.testing.assert_array_equal(cropped.masks, bitmaps.masks[:, 2:15, 1:20])
    np.testing.assert_array_equal(polys.crop(box).to_ndarray(), cropped.masks)
    # a box outside the image is clipped to at least one pixel
    assert bitmaps.crop(np.array([-5, -5, 0, 0])).masks.shape == (2, 1, 1)
    expanded = bitmaps.expand(30, 40, 4, 5)
    np.testing.assert_array_equal(expanded.masks[:, 4:24, 5:35], bitmaps.masks)
    assert expanded.masks.sum() == bitmaps.masks.sum()
    np.testing.assert_array_equal(polys.expand(30, 40, 4, 5).to_ndarray(), expanded.masks)


def test_crop_and_resize_vs_roi_align(pair):
    bitmaps, polys, _ = pair
    rois = np.array([[1.5, 2.5, 12.5, 9.5], [14., 9., 29., 19.], [0., 0., 30., 20.]],
                    dtype=np.float32)
    inds = np.array([0, 1, 1])
    out = bitmaps.crop_and_resize(rois, (7, 7), inds, binarize=False)
    expected = roi_align(torch.from_numpy(bitmaps.masks[inds]).float()[:, None],
                         [torch.from_numpy(r[None]) for r in rois], (7, 7), 1.0, 0, True)
    np.testing.assert_allclose(out.masks, expected[:, 0].numpy(), atol=1e-6)
    binary = bitmaps.crop_and_resize(torch.from_numpy(rois), (7, 7), torch.from_numpy(inds))
    np.testing.assert_array_equal(binary.masks, (expected[:, 0].numpy() >= 0.5))
    # a box equal to the mask's rectangle gives an all-ones target
    full = bitmaps.crop_and_resize(np.array([[2., 3., 12., 9.]], np.float32), (5, 5), np.array([0]))
    assert full.masks.all()
    poly_full = polys.crop_and_resize(np.array([[2., 3., 12., 9.]]), (5, 5), np.array([0]))
    assert isinstance(poly_full, PolygonMasks) and poly_full.to_ndarray().all()
    # zero boxes and zero masks
    assert bitmaps.crop_and_resize(np.zeros((0, 4), np.float32), (7, 7), np.zeros(0, int)).masks.shape == (0, 7, 7)
    empty = BitmapMasks([], 20, 30)
    assert empty.crop_and_resize(rois, (7, 7), inds).masks.shape == (0, 7, 7)
    assert len(polys.crop_and_resize(np.zeros((0, 4)), (7, 7), np.zeros(0, int))) == 0


def test_indexing_tensor_and_empty(pair):
    bitmaps, polys, _ = pair
    assert len(bitmaps[[1]]) == 1 and len(polys[[1]]) == 1
    assert len(polys[1]) == 1 and len(bitmaps[1]) == 1
    np.testing.assert_array_equal(polys[np.array([False, True])].to_ndarray(), bitmaps[1].masks)
    t = bitmaps.to_tensor(torch.float32, 'cpu')
    assert t.shape == (2, 20, 30) and t.dtype == torch.float32
    assert polys.to_tensor(torch.uint8, 'cpu').sum() == bitmaps.masks.sum()
    for empty in (BitmapMasks([], 20, 30), PolygonMasks([], 20, 30)):
        assert empty.to_ndarray().shape == (0, 20, 30)
        assert empty.resize((10, 15)).to_ndarray().shape == (0, 10, 15)
        assert empty.flip().to_ndarray().shape == (0, 20, 30)
        assert empty.pad((24, 32)).to_ndarray().shape == (0, 24, 32)
        assert len(empty.areas) == 0
    with pytest.raises(ValueError, match='do not match'):
        BitmapMasks(np.zeros((1, 5, 5), np.uint8), 6, 5)
    np.testing.assert_array_equal(bitmaps.get_bboxes(), [[2, 3, 12, 9], [15, 10, 28, 18]])
    np.testing.assert_array_equal(polys.get_bboxes(), [[2, 3, 12, 9], [15, 10, 28, 18]])


def test_translate(pair):
    bitmaps, polys, _ = pair
    moved = bitmaps.translate((20, 30), 3, 'horizontal')
    np.testing.assert_array_equal(moved.masks[:, :, 3:], bitmaps.masks[:, :, :-3])
    np.testing.assert_array_equal(polys.translate((20, 30), 3, 'horizontal').to_ndarray(),
                                  moved.masks)


def test_encode_mask_results_roundtrip_and_mask2ndarray(pair):
    bitmaps, _, _ = pair
    segm = [[bitmaps.masks[0].astype(bool)], [], [bitmaps.masks[1].astype(bool)]]
    enc = encode_mask_results(segm)
    assert [len(c) for c in enc] == [1, 0, 1]
    np.testing.assert_array_equal(mask_utils.decode(enc[2][0]), bitmaps.masks[1])
    enc2, scores = encode_mask_results((segm, [[0.9], [], [0.8]]))
    assert scores == [[0.9], [], [0.8]] and len(enc2[0]) == 1
    assert mask2ndarray(bitmaps) is bitmaps.masks
    assert mask2ndarray(torch.ones(1, 2, 2)).shape == (1, 2, 2)
    with pytest.raises(TypeError, match='unsupported'):
        mask2ndarray([1, 2])


def test_split_combined_polys():
    polys = [np.arange(12.)]
    out = split_combined_polys(polys, [[6, 6]], [[1, 1]])
    assert len(out[0]) == 2
    np.testing.assert_array_equal(out[0][1][0], np.arange(6., 12.))

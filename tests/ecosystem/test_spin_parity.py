"""Spin nulls: ge2conn's Váša reassignment against neuromaps' ``gen_spinsamples(method="vasa")``.

``gen_spinsamples`` is the function the reference GeneEx2Conn code calls (as ``netneurotools.stats``, which
moved it to ``neuromaps.nulls.spins`` in netneurotools 0.3; the code is the same). Both libraries draw the
rotation with ``_gen_rotation``, which acts on row vectors (``coords @ rotate_l``) and mirrors it for the
right hemisphere as ``F rotate_l F``; ge2conn's rotations act on column vectors, so the same geometric spin is
``R = rotate_l.T``. On the same rotations the permutations must be identical and the costs equal up to
float32 round-off (ge2conn assigns in float32). Seen when written: 0 differing spins of 300/200/60 on DK 68,
Schaefer-100/300; costs within 2.6e-7 relative.
"""

from __future__ import annotations

import numpy as np
import pytest

from ge2conn.data.format import BrainDataset
from ge2conn.nulls.spins import spin_groups, spin_permutations
from tests.ecosystem.atlases import SurfaceAtlas, import_or_skip

pytestmark = pytest.mark.mirror
SPINS = {"aparc": 300, "schaefer_100": 200, "schaefer_300": 60}


def neuromaps_spins(coords: np.ndarray, hemiid: np.ndarray, count: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """neuromaps' Váša spins, their per-region costs, and the left rotations it drew (replayed)."""
    spins = import_or_skip("neuromaps.nulls.spins", "the spin nulls ge2conn must match")
    samples, cost = spins.gen_spinsamples(coords, hemiid, n_rotate=count, method="vasa", seed=seed,
                                          check_duplicates=False, return_cost=True)
    # One _gen_rotation call per spin when duplicates are not checked: replay the stream.
    replay = np.random.RandomState(seed)
    rotations = np.stack([spins._gen_rotation(seed=replay)[0] for _ in range(count)])
    return samples, cost, rotations


@pytest.mark.parametrize("atlas", sorted(SPINS))
def test_cortical_spins_equal_neuromaps_vasa_on_the_same_rotations(
        atlas: str, surface_atlases: dict[str, SurfaceAtlas]) -> None:
    brain = surface_atlases[atlas].brain()
    hemiid = (brain.hemisphere == "R").astype(int)
    samples, their_cost, rotations = neuromaps_spins(brain.sphere, hemiid, SPINS[atlas], seed=11)
    groups = spin_groups(brain)
    permutations, cost = spin_permutations(groups, rotations.transpose(0, 2, 1), brain.num_regions)
    # Same layout as theirs after a transpose: regions × spins, null_map = data[samples[:, k]].
    mismatched_spins = int((permutations.T != samples).any(axis=0).sum())
    assert mismatched_spins == 0, f"{mismatched_spins} of {SPINS[atlas]} spins differ from neuromaps"
    # Our cost is in mm (unit-sphere distance times the hemisphere's cortical radius); theirs per region on
    # the coordinates given (the unit sphere here).
    expected = sum(their_cost[group.regions].sum(axis=0) * group.scale_mm for group in groups)
    relative = np.abs(cost - expected) / expected
    assert relative.max() < 1e-5, f"max relative cost difference {relative.max():.2e}"


def test_subcortex_is_spun_by_ge2conn_but_outside_neuromaps(synthetic_path) -> None:
    """The intended difference: neuromaps spins two cortical hemispheres on a sphere (hemiid 0/1) and has no
    notion of subcortex; ge2conn also spins each subcortical group about its own centre in MNI space, and the
    cortical part of a spin is still exactly neuromaps'."""
    brain = BrainDataset.load(synthetic_path, individual=False)
    cortex = np.flatnonzero(brain.structure == "cortex")
    cortical = brain.select_regions(cortex)
    samples, _, rotations = neuromaps_spins(cortical.sphere, (cortical.hemisphere == "R").astype(int), 100,
                                            seed=3)
    permutations, _ = spin_permutations(spin_groups(brain), rotations.transpose(0, 2, 1), brain.num_regions)
    position = np.full(brain.num_regions, -1)
    position[cortex] = np.arange(cortex.size)
    np.testing.assert_array_equal(position[permutations[:, cortex]].T, samples)
    subcortex = np.flatnonzero(brain.structure == "subcortex")
    moved = permutations[:, subcortex] != subcortex
    assert moved.any(axis=1).mean() > 0.5  # most spins move subcortical regions ...
    assert (brain.structure[permutations[:, subcortex]] == "subcortex").all()  # ... never into cortex
    assert (brain.hemisphere[permutations] == brain.hemisphere).all()  # ... nor across hemispheres

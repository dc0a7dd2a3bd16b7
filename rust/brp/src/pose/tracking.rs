//! Who is who from one frame to the next: the people of a frame matched to
//! the targets that held the previous poses, by where their torsos are.

use crate::world::pose::Landmark;

/// MediaPipe Pose's shoulders and hips, whose mean is the torso's centre.
const TORSO: [usize; 4] = [11, 12, 23, 24];

/// Where a pose is, for matching: the mean `x`, `y` of the shoulders and
/// hips, or of every landmark when the pose has too few for those; `None`
/// for a pose without landmarks.
pub(crate) fn centre(landmarks: &[Landmark]) -> Option<[f32; 2]> {
    let mean = |points: &mut dyn Iterator<Item = &Landmark>| {
        let (mut x, mut y, mut n) = (0.0, 0.0, 0.0);
        for l in points {
            (x, y, n) = (x + l.x, y + l.y, n + 1.0);
        }
        (n > 0.0).then(|| [x / n, y / n])
    };
    if landmarks.len() > TORSO[3] {
        mean(&mut TORSO.iter().map(|&i| &landmarks[i]))
    } else {
        mean(&mut landmarks.iter())
    }
}

/// Which person lands on which target: `held[t]` is the centre of the pose
/// target `t` holds (`None`: it holds none; `Some(None)`: one without
/// landmarks), `people[p]` the centre of person `p` of the new frame.
/// Answers, per target, the person that lands there (`None`: nobody).
///
/// Holders and people are paired nearest first (the globally closest pair,
/// then the closest of the rest, …; ties by target, then person, and poses
/// without a centre last), so each person who stays keeps their target
/// whatever the frame's order. People left over (entering) take the
/// targets that held nothing, lowest first; holders left over (leaving)
/// get nobody. People beyond the free targets land nowhere (the decoder
/// reads no more people than there are targets).
pub(crate) fn assign(
    held: &[Option<Option<[f32; 2]>>],
    people: &[Option<[f32; 2]>],
) -> Vec<Option<usize>> {
    let distance = |a: Option<[f32; 2]>, b: Option<[f32; 2]>| match (a, b) {
        (Some([ax, ay]), Some([bx, by])) => (ax - bx).powi(2) + (ay - by).powi(2),
        _ => f32::INFINITY,
    };
    let mut pairs: Vec<(f32, usize, usize)> = held
        .iter()
        .enumerate()
        .filter_map(|(t, centre)| centre.map(|centre| (t, centre)))
        .flat_map(|(t, centre)| {
            (people.iter().enumerate()).map(move |(p, &person)| (distance(centre, person), t, p))
        })
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut on = vec![None; held.len()];
    let mut placed = vec![false; people.len()];
    for (_, t, p) in pairs {
        if on[t].is_none() && !placed[p] {
            on[t] = Some(p);
            placed[p] = true;
        }
    }
    let mut free = (0..held.len()).filter(|&t| held[t].is_none());
    for (p, _) in placed.iter().enumerate().filter(|(_, placed)| !**placed) {
        match free.next() {
            Some(t) => on[t] = Some(p),
            None => break,
        }
    }
    on
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32, y: f32) -> Landmark {
        Landmark {
            x,
            y,
            ..Landmark::default()
        }
    }

    #[test]
    fn the_centre_is_the_torso_or_the_mean() {
        let mut pose = vec![at(0.0, 0.0); 33];
        for (i, (x, y)) in [
            (11, (0.4, 0.2)),
            (12, (0.6, 0.2)),
            (23, (0.4, 0.6)),
            (24, (0.6, 0.6)),
        ] {
            pose[i] = at(x, y);
        }
        assert_eq!(centre(&pose), Some([0.5, 0.4]));
        assert_eq!(centre(&[at(0.2, 0.4), at(0.4, 0.8)]), Some([0.3, 0.6]));
        assert_eq!(centre(&[]), None);
    }

    #[test]
    fn people_keep_their_targets_whatever_their_order() {
        let (left, right) = (Some([0.2, 0.5]), Some([0.8, 0.5]));
        let held = [Some(left), Some(right)];
        assert_eq!(assign(&held, &[right, left]), [Some(1), Some(0)]);
        assert_eq!(assign(&held, &[left, right]), [Some(0), Some(1)]);
        // A small step each keeps each on their own.
        let moved = [Some([0.75, 0.5]), Some([0.25, 0.5])];
        assert_eq!(assign(&held, &moved), [Some(1), Some(0)]);
    }

    #[test]
    fn entering_people_take_free_targets_and_leaving_ones_free_theirs() {
        let (a, b, c) = (Some([0.1, 0.5]), Some([0.5, 0.5]), Some([0.9, 0.5]));
        // Target 1 holds `b`; `a` and `c` enter, in the frame's order.
        let held = [None, Some(b), None, None];
        assert_eq!(assign(&held, &[c, b, a]), [Some(0), Some(1), Some(2), None]);
        // Of two holders, the one nearer the only person stays.
        let held = [Some(a), Some(c)];
        assert_eq!(assign(&held, &[Some([0.8, 0.5])]), [None, Some(0)]);
        assert_eq!(assign(&held, &[]), [None, None]);
        // Poses without landmarks pair last.
        let held = [Some(None), Some(a)];
        assert_eq!(assign(&held, &[None, a]), [Some(0), Some(1)]);
        // More people than targets: the first free ones only.
        assert_eq!(assign(&[None], &[a, b]), [Some(0)]);
    }
}

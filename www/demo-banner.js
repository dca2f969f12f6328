// The banner over a random-weight demo model: the manifest marks it (`randomWeights`, from the
// `random_weights` that scripts/make_fixtures.py writes into config.json and `clipseg convert`
// keeps). Such a model runs like a real one, so without the banner its noise would pass for
// the tool's quality.

/** The one command that gets the real model into a checkout of this site (README.md). */
export const REAL_MODEL_COMMAND = 'bash scripts/start.sh';

/** Shows the banner when `entry` (a manifest entry, or null) is a random-weight model. */
export function showDemoBanner(banner, entry) {
  banner.hidden = !entry?.randomWeights;
  if (banner.hidden) return;
  const code = (text) => Object.assign(document.createElement('code'), { textContent: text });
  const title = Object.assign(document.createElement('strong'), { textContent: 'Demo model: its masks are noise. ' });
  banner.replaceChildren(
    title,
    `“${entry.id}” has random weights, so it shows how the page works but segments nothing. `,
    'Get the real model (CIDAS/clipseg-rd64-refined) with ',
    code(REAL_MODEL_COMMAND),
    ' where the Hugging Face hub can be reached, or with ',
    code('clipseg fetch'),
    ' and a rebuild.',
  );
}

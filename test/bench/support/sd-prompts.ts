// Prompts as Stable Diffusion users write them: subject, style tags, artists, weights, lora tags.
// Written for this benchmark (not reference data); each is 20-60 CLIP tokens, which
// the benchmark checks and prints.
export const SD_PROMPTS: readonly string[] = [
  'a photograph of an astronaut riding a horse on mars, highly detailed, 8k, trending on artstation',
  'portrait of a young woman with freckles and red hair, soft window light, 85mm lens, shallow depth of field, film grain',
  'a cozy cabin in a snowy forest at night, warm light in the windows, aurora borealis, matte painting, by greg rutkowski',
  'cyberpunk city street in the rain, neon signs, reflections on wet asphalt, blade runner style, cinematic lighting, octane render',
  'masterpiece, best quality, 1girl, solo, long hair, looking at viewer, smile, school uniform, cherry blossoms, (detailed eyes:1.2)',
  'an oil painting of a lighthouse on a cliff during a storm, crashing waves, dramatic sky, in the style of turner',
  'isometric view of a tiny medieval village, low poly, soft pastel colors, 3d render, blender, cute, miniature',
  'close-up macro photo of a dewdrop on a spider web at sunrise, bokeh, ultra sharp, national geographic',
  'a steampunk airship flying over victorian london, brass and copper details, clouds, concept art, artstation hq',
  'ultra realistic photo of a golden retriever puppy playing in autumn leaves, natural light, canon eos r5, 50mm f/1.8',
  'fantasy castle on a floating island, waterfalls pouring into the clouds, epic scale, volumetric light, unreal engine 5',
  '((a knight in ornate silver armor)), standing in a burning village, [smoke:embers:0.5], dark fantasy, highly detailed <lora:epicArmor_v2:0.7>',
  'still life of lemons and a blue ceramic jug on a wooden table, chiaroscuro, dutch golden age painting',
  'a robot reading a book in an abandoned library, overgrown with plants, sunbeams through broken windows, studio ghibli',
  'minimalist logo of a fox head, flat vector, orange and white, centered, white background, clean lines',
  'underwater coral reef teeming with colorful fish, sea turtle, sun rays from the surface, photorealistic, 4k wallpaper',
  'an old fisherman with a weathered face and a knitted hat, black and white portrait, dramatic side lighting, hasselblad',
  'futuristic sports car concept, sleek aerodynamic body, studio lighting, reflective floor, product photography, 8k uhd',
  'alien landscape with two moons, purple vegetation, crystal formations, sci-fi illustration by moebius and jean giraud',
  'watercolor painting of a paris cafe terrace in spring, people sitting at small tables, loose brushstrokes, soft colors',
  'anime style, a girl with a katana under a red torii gate, falling maple leaves, sunset, (vibrant colors:1.3), highres',
  'a bowl of ramen with a soft boiled egg, steam rising, food photography, top down view, dark moody background',
  'haunted victorian mansion on a hill, full moon, bats, fog, gothic horror, digital painting, trending on deviantart',
  'cute kawaii cat astronaut floating in space with planets and stars, sticker design, thick outline, vector art',
  'ancient greek temple ruins at golden hour, marble columns, olive trees, mediterranean sea in the background, photo',
  'character sheet of a dwarf blacksmith, front and side view, leather apron, braided beard, concept art, white background',
  'a bustling night market in taipei, lanterns, street food stalls, crowds, long exposure, vivid colors, street photography',
  'epic battle between a dragon and a wizard on a mountain peak, lightning, magic spells, dynamic pose, by frank frazetta',
  'interior of a modern scandinavian living room, large windows, indoor plants, natural wood, architectural digest, 35mm',
  'surreal melting clocks draped over tree branches in a desert, salvador dali style, oil on canvas, highly detailed',
];

/** The prompt every cold start encodes first. */
export const FIRST_PROMPT = SD_PROMPTS[0];

// What a button does, written into its custom_id (1-100 characters, unique within a message;
// SD-NOTES §5.5). Image buttons carry the image's 64-hex key: its R2 object holds every parameter
// that made it, so a click needs no other state. Delete carries the id of the user who asked,
// the only one it obeys. Users cannot edit a custom_id: Discord signs what our message holds.

export type ButtonAction =
  | { kind: 'reroll' | 'variations' | 'same_seed' | 'zoom_out'; key: string }
  | { kind: 'delete'; owner: string };

const PREFIX = {
  reroll: 'reroll',
  variations: 'vary',
  same_seed: 'seed',
  zoom_out: 'zoom',
  delete: 'delete',
} as const;
const IMAGE_KINDS = { reroll: 'reroll', vary: 'variations', seed: 'same_seed', zoom: 'zoom_out' } as const;
const IMAGE_BUTTON = /^(reroll|vary|seed|zoom):([0-9a-f]{64})$/;
const DELETE_BUTTON = /^delete:(\d{1,20})$/;

export function customId(action: ButtonAction): string {
  return action.kind === 'delete'
    ? `${PREFIX.delete}:${action.owner}`
    : `${PREFIX[action.kind]}:${action.key}`;
}

export function parseCustomId(id: string): ButtonAction | undefined {
  const image = IMAGE_BUTTON.exec(id);
  if (image) return { kind: IMAGE_KINDS[image[1] as keyof typeof IMAGE_KINDS], key: image[2] };
  const remove = DELETE_BUTTON.exec(id);
  return remove ? { kind: 'delete', owner: remove[1] } : undefined;
}

// The grant access levels: defined once, imported by config, rules, grants, admin and cli (a leaf without imports).

export const ACCESS_LEVELS = ['read', 'write', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

import type { FieldDef } from '../model.js';

/** Resolves `{Name}`, `{fldId}` and bare names: exact name first, then id, then case-insensitive name. */
export class FieldResolver {
  private readonly byName = new Map<string, FieldDef>();
  private readonly byId = new Map<string, FieldDef>();
  private readonly byLowerName = new Map<string, FieldDef>();

  constructor(fields: readonly FieldDef[]) {
    for (const field of fields) {
      if (!this.byName.has(field.name)) this.byName.set(field.name, field);
      this.byId.set(field.id, field);
      const lower = field.name.toLowerCase();
      if (!this.byLowerName.has(lower)) this.byLowerName.set(lower, field);
    }
  }

  resolve(name: string): FieldDef | undefined {
    return this.lookup(name) ?? this.lookup(name.trim());
  }

  private lookup(name: string): FieldDef | undefined {
    return this.byName.get(name) ?? this.byId.get(name) ?? this.byLowerName.get(name.toLowerCase());
  }
}

/**
 * The configuration schema: one field specification per key (type, default, range, flag), and
 * the typed object a schema describes.
 *
 * @module
 */

interface FieldBase {
  /** One-line description, used by `--help`. */
  description: string;
  /** Flag name without dashes; defaults to the key with `_` turned to `-`. `false`: no flag. */
  flag?: string | false;
  /** Extra long flag names (e.g. `listen` for `listen_addr`). */
  aliases?: readonly string[];
  /** A one-letter short flag. */
  short?: string;
  /** Environment variable used when neither file nor flag sets the key. */
  env?: string;
}

/** A string value. */
export interface StringField extends FieldBase {
  type: "string";
  default?: string;
  optional?: boolean;
}
/** An integer (or a float when `type` is "number") with an optional range. */
export interface NumberField extends FieldBase {
  type: "integer" | "number";
  default?: number;
  optional?: boolean;
  min?: number;
  max?: number;
}
/** A duration in seconds: a number, or text such as `500ms`, `10s`, `2m`. */
export interface DurationField extends FieldBase {
  type: "duration";
  default?: number;
  optional?: boolean;
  min?: number;
  max?: number;
}
/** A byte count: a number, or text such as `64KiB`, `1MB`. */
export interface SizeField extends FieldBase {
  type: "size";
  default?: number;
  optional?: boolean;
  min?: number;
  max?: number;
}
/** A boolean. */
export interface BooleanField extends FieldBase {
  type: "boolean";
  default?: boolean;
  optional?: boolean;
}
/** A `host:port` address; `allowOff` also accepts the word `off`. */
export interface AddressField extends FieldBase {
  type: "address";
  default?: string;
  optional?: boolean;
  allowOff?: boolean;
}
/** One of a fixed set of words. */
export interface EnumField<V extends string = string> extends FieldBase {
  type: "enum";
  values: readonly V[];
  default?: V;
  optional?: boolean;
}
/** An array of strings; its flag may be repeated. `item` validates each element. */
export interface StringsField extends FieldBase {
  type: "strings";
  default?: readonly string[];
  item?: (value: string) => string | undefined;
}
/** A sub-table (`[health_check]`). */
export interface TableField<S extends Schema = Schema> extends FieldBase {
  type: "table";
  fields: S;
}
/** An array of tables (`[[backends]]`); `fromFlag` turns one repeated flag value into a table. */
export interface TablesField<S extends Schema = Schema> extends FieldBase {
  type: "tables";
  fields: S;
  fromFlag?: (value: string) => Record<string, unknown>;
}
/** A key still accepted for compatibility but ignored; a one-line notice is reported. */
export interface IgnoredField extends FieldBase {
  type: "ignored";
  notice: string;
}

/** One key's specification. */
export type FieldSpec =
  | StringField
  | NumberField
  | DurationField
  | SizeField
  | BooleanField
  | AddressField
  | EnumField
  | StringsField
  | TableField
  | TablesField
  | IgnoredField;

/** A configuration schema: key name to specification. */
export type Schema = Readonly<Record<string, FieldSpec>>;

type Optional<F, T> = F extends { optional: true } ? T | undefined
  : F extends { default: unknown } ? T
  : T | undefined;

/** The value type of one field. */
export type ValueOf<F> = F extends { type: "integer" | "number" | "duration" | "size" }
  ? Optional<F, number>
  : F extends { type: "boolean" } ? Optional<F, boolean>
  : F extends { type: "enum"; values: readonly (infer V)[] } ? Optional<F, V>
  : F extends { type: "strings" } ? string[]
  : F extends { type: "table"; fields: infer S } ? ConfigOf<S>
  : F extends { type: "tables"; fields: infer S } ? ConfigOf<S>[]
  : F extends { type: "ignored" } ? undefined
  : Optional<F, string>;

/** The typed configuration object a schema describes. */
export type ConfigOf<S> = { -readonly [K in keyof S]: ValueOf<S[K]> };

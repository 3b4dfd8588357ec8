/**
 * Households registered for the パパ・ママ応援ショップ優待カード, kept in a local LMDB store under the
 * data directory (`<dataDir>/cards`), not in ClickHouse: the card must open at a shop's till while
 * ClickHouse or Redis is down ("if the card cannot be shown, the discount is lost"), and the personal
 * fields stay out of the store of record altogether.
 *
 * A record is keyed by tenant and LINE user id (in clear, for the look-up); everything personal —
 * holder's name, relationship, the household's kind, children's names and birth dates — is one JSON
 * sealed with the tenant's data key (core/data-keys.ts). Only registration and change times are clear.
 */
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { DataKeys } from '../core/data-keys.ts';
import { AppError } from '../core/errors.ts';
import { type HouseholdInput, householdInputSchema } from './schemas.ts';

export interface Household extends HouseholdInput {
  tenantId: string;
  userId: string;
  registeredAt: number;
  updatedAt: number;
}

/** What is stored: the personal fields only sealed. */
export interface StoredHousehold {
  userId: string;
  sealed: string;
  registeredAt: number;
  updatedAt: number;
}

export interface CardImage {
  type: 'image/png' | 'image/jpeg';
  data: Buffer;
  updatedAt: number;
  updatedBy: string;
}

export type ImageKind = 'card' | 'pass';
export type ImageState = 'draft' | 'published';

const key = (tenantId: string, userId: string) => `${tenantId}/${userId}`;

/** The cards' local store (LMDB): households and the card and pass images. */
export class CardStore {
  readonly #root: RootDatabase;
  readonly households: Database<StoredHousehold, string>;
  readonly images: Database<{ type: string; data: Buffer; updatedAt: number; updatedBy: string }, string>;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#root = open({ path: dir, maxDbs: 4, mapSize: 4 * 1024 ** 3 });
    this.households = this.#root.openDB<StoredHousehold, string>({ name: 'households' });
    this.images = this.#root.openDB({ name: 'images' });
  }

  async close(): Promise<void> {
    await this.#root.close();
  }
}

export class Households {
  constructor(
    private readonly store: CardStore,
    private readonly keys: DataKeys,
  ) {}

  /** The resident's own household (undefined: not registered). */
  get(tenantId: string, userId: string): Household | undefined {
    const s = this.store.households.get(key(tenantId, userId));
    return s && this.#open(tenantId, s);
  }

  /** Registers or replaces the resident's household; invalid input is a 400 and nothing is stored. */
  async save(tenantId: string, userId: string, input: unknown, today: string): Promise<Household> {
    const v = householdInputSchema(today).parse(input ?? {});
    const now = Date.now();
    const k = key(tenantId, userId);
    const before = this.store.households.get(k);
    const stored: StoredHousehold = {
      userId,
      sealed: this.keys.encrypt(tenantId, JSON.stringify(v)),
      registeredAt: before?.registeredAt ?? now,
      updatedAt: now,
    };
    await this.store.households.put(k, stored);
    return { ...v, tenantId, userId, registeredAt: stored.registeredAt, updatedAt: now };
  }

  has(tenantId: string, userId: string): boolean {
    return this.store.households.doesExist(key(tenantId, userId));
  }

  async remove(tenantId: string, userId: string): Promise<boolean> {
    return this.store.households.remove(key(tenantId, userId));
  }

  /** Every household of a tenant, opened (staff with カード利用者情報 only). */
  *list(tenantId: string): Generator<Household> {
    for (const s of this.stored(tenantId)) yield this.#open(tenantId, s);
  }

  /** Stored records of a tenant (sealed). */
  *stored(tenantId: string): Generator<StoredHousehold> {
    for (const { value } of this.store.households.getRange({ start: `${tenantId}/`, end: `${tenantId}/\uffff` })) {
      yield value;
    }
  }

  /** Many households at once (demo, bench): `make(i)` gives the i-th resident and fields. */
  async bulk(
    tenantId: string,
    count: number,
    make: (i: number) => { userId: string; input: HouseholdInput },
  ): Promise<void> {
    const now = Date.now();
    const batch = 10_000;
    for (let from = 0; from < count; from += batch) {
      await this.store.households.transaction(() => {
        for (let i = from; i < Math.min(count, from + batch); i++) {
          const { userId, input } = make(i);
          this.store.households.put(key(tenantId, userId), {
            userId,
            sealed: this.keys.encrypt(tenantId, JSON.stringify(input)),
            registeredAt: now,
            updatedAt: now,
          });
        }
      });
    }
  }

  #open(tenantId: string, s: StoredHousehold): Household {
    let fields: HouseholdInput;
    try {
      fields = JSON.parse(this.keys.decrypt(tenantId, s.sealed)) as HouseholdInput;
    } catch (e) {
      if (e instanceof AppError && e.code === 'data_key_destroyed') {
        throw new AppError('household_erased', '登録情報は消去されました。お手数ですが、もう一度登録してください', 410);
      }
      throw e;
    }
    return { ...fields, tenantId, userId: s.userId, registeredAt: s.registeredAt, updatedAt: s.updatedAt };
  }
}

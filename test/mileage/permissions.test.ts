/**
 * The マイレージ管理 permission in core/auth.ts: which roles may hold it, and that the staff
 * account schemas (users CLI, API and pages all validate with them) accept it.
 */
import { describe, expect, it } from 'vitest';
import { effectivePermissions, PERMISSION_LABELS, PERMISSIONS, ROLE_ALLOWS } from '../../core/auth.ts';
import { permissionsInputSchema, staffInputSchema } from '../../core/users.ts';

describe('manage_mileage', () => {
  it('is a permission labelled マイレージ管理, allowed to every role', () => {
    expect(PERMISSIONS).toContain('manage_mileage');
    expect(PERMISSION_LABELS.manage_mileage).toBe('マイレージ管理');
    for (const role of ['admin', 'contractor', 'municipality', 'prefecture'] as const) {
      expect(ROLE_ALLOWS[role]).toContain('manage_mileage');
      expect(effectivePermissions(role, ['manage_mileage'])).toEqual(['manage_mileage']);
    }
    // the prefecture still may not deliver or change channels
    expect(effectivePermissions('prefecture', ['deliver', 'manage_channels', 'manage_mileage'])).toEqual([
      'manage_mileage',
    ]);
  });

  it('is accepted where staff accounts are made and changed', () => {
    expect(permissionsInputSchema.parse({ permissions: ['manage_mileage'] }).permissions).toEqual(['manage_mileage']);
    expect(permissionsInputSchema.safeParse({ permissions: ['manage_milage'] }).success).toBe(false);
    const input = staffInputSchema.safeParse({
      username: 'tsu-mileage',
      displayName: '津市 マイレージ担当',
      password: 'a-long-enough-password-1',
      role: 'municipality',
      tenantId: '24201',
      permissions: ['manage_mileage'],
    });
    expect(input.success, JSON.stringify(input.error?.issues)).toBe(true);
  });
});

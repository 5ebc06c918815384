export const BOOT_SECTOR_MARKER = 'NUMACAGE-ACCEL-OK';

/**
 * A 512-byte BIOS boot sector that writes the marker to COM1 and halts: the
 * smallest real guest that proves an accelerator runs guest code. Pure.
 */
export function markerBootSector(): Buffer {
  const msg = Buffer.from(`${BOOT_SECTOR_MARKER}\n\0`, 'ascii');
  // mov dx,0x3f8; mov si,msg; l: lodsb; test al,al; jz d; out dx,al; jmp l; d: cli; hlt; jmp d
  const code = [
    0xba, 0xf8, 0x03, 0xbe, 0x00, 0x00, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xfa, 0xf4, 0xeb, 0xfc,
  ];
  const msgAddr = 0x7c00 + code.length;
  code[4] = msgAddr & 0xff;
  code[5] = msgAddr >> 8;
  const sector = Buffer.alloc(512);
  Buffer.from(code).copy(sector, 0);
  msg.copy(sector, code.length);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

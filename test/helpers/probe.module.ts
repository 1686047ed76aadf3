import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Public } from '../../src/core/auth/auth.decorators.js';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Max, MinLength, ValidateNested } from 'class-validator';
import { setTimeout as sleep } from 'node:timers/promises';

/** A table the database tests create themselves. */
@Entity('probe_counter')
export class ProbeCounter {
  @PrimaryColumn('int')
  id: number;

  @Column('int')
  value: number;
}

class ProbeNested {
  @IsBoolean()
  flag: boolean;
}

class ProbeBody {
  @IsString()
  @MinLength(1)
  name: string;

  @IsInt()
  @Max(10)
  count: number;

  @ValidateNested()
  @Type(() => ProbeNested)
  nested: ProbeNested;
}

/** Resolves when a request has reached GET /probe/slow (so a test knows it is in flight). */
let slowRequestArrived = () => {};
export function expectSlowRequest(): Promise<void> {
  return new Promise<void>((resolve) => (slowRequestArrived = resolve));
}

/** Routes that exist only in tests, to drive the real HTTP pipeline (pipes, filters, hooks). */
@Public()
@Controller('probe')
class ProbeController {
  @Post('echo')
  echo(@Body() body: ProbeBody) {
    return { ...body, nestedIsInstance: body.nested instanceof ProbeNested };
  }

  @Get('boom')
  boom(): never {
    throw new Error('relation "users" does not exist at SELECT password_hash FROM users');
  }

  @Get('slow')
  async slow() {
    slowRequestArrived();
    await sleep(300);
    return { done: true };
  }
}

@Module({ imports: [TypeOrmModule.forFeature([ProbeCounter])], controllers: [ProbeController] })
export class ProbeModule {}

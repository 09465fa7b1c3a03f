"""safety answers, doses, balance variants, set stops, flag acknowledgements, progression steps

Revision ID: 0003
Revises: 0002

Old rows stay readable: an older safety screen's two answers are copied into `answers` (a Yes to "calf pain
together with swelling and redness" is a Yes to all three; a No leaves them unknown, since it did not say
which was absent), and an old prescription's "times a week" becomes times a day × days a week (14 → twice a
day, every day; 3 → once a day, 3 days a week).
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'


def upgrade() -> None:
    with op.batch_alter_table('safety_screens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=True))

    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_max_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('per_day', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('as_often_as_possible', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('days_min', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('days_max', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('variant', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('progress_after', sa.Integer(), nullable=False, server_default=sa.text('3')))

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant', sa.String(length=20), nullable=True))

    op.create_table('set_stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('exercise', sa.String(length=60), nullable=False),
    sa.Column('symptom', sa.String(length=40), nullable=False),
    sa.Column('at_s', sa.Float(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('set_stops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_set_stops_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_set_stops_created_at'), ['created_at'], unique=False)

    op.create_table('flag_acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('through', sa.Integer(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flag_acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_acks_patient_id'), ['patient_id'], unique=False)

    op.create_table('progression_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=False),
    sa.Column('exercise', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('change', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('basis_last', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('prescription_id', 'basis_last', name='uq_progression_steps_basis')
    )
    with op.batch_alter_table('progression_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progression_steps_patient_id'), ['patient_id'], unique=False)

    # --- old rows, readable in the new terms ---
    bind = op.get_bind()
    screens = sa.table('safety_screens', sa.column('id', sa.Integer()), sa.column('calf_red_flag', sa.Boolean()),
                       sa.column('nerve_symptoms', sa.Boolean()), sa.column('answers', sa.JSON()))
    for row in bind.execute(sa.select(screens.c.id, screens.c.calf_red_flag, screens.c.nerve_symptoms)
                            .where(screens.c.answers.is_(None))).all():
        answers = {"nerve_symptoms": bool(row.nerve_symptoms)}
        if row.calf_red_flag:
            answers.update(calf_pain=True, leg_swelling=True, leg_redness=True)
        bind.execute(screens.update().where(screens.c.id == row.id).values(answers=answers))
    op.execute("UPDATE prescriptions SET "
               "per_day = CASE WHEN per_week > 7 THEN (per_week + 6) / 7 ELSE 1 END, "
               "days_min = CASE WHEN per_week > 7 THEN 7 ELSE per_week END, "
               "days_max = CASE WHEN per_week > 7 THEN 7 ELSE per_week END "
               "WHERE per_day IS NULL AND days_min IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('progression_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progression_steps_patient_id'))
    op.drop_table('progression_steps')
    with op.batch_alter_table('flag_acks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_acks_patient_id'))
    op.drop_table('flag_acks')
    with op.batch_alter_table('set_stops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_set_stops_created_at'))
        batch_op.drop_index(batch_op.f('ix_set_stops_patient_id'))
    op.drop_table('set_stops')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('variant')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        for name in ('progress_after', 'variant', 'days_max', 'days_min', 'as_often_as_possible',
                     'per_day', 'hold_max_s'):
            batch_op.drop_column(name)
    with op.batch_alter_table('safety_screens', schema=None) as batch_op:
        batch_op.drop_column('answers')

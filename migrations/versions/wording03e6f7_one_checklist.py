"""One checklist: the plan document shows the activity checklist template

The plan document kept its own copy of the seven questions (``checklist_question``)
beside the activity checklist template that activities answer. The template is now the
only source. A question a coordinator had added to the plan's copy, or reworded there,
is appended to the template as a free-text question so no wording is lost; nothing else
in the template changes. Answers keep the wording they were given under (they store it
themselves), so no answer is touched.

Revision ID: wording03e6f7
Revises: wording02c4d5
Create Date: 2026-12-01 12:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "wording03e6f7"
down_revision = "wording02c4d5"
branch_labels = None
depends_on = None

_templates = sa.table("checklist_template", sa.column("id", sa.Integer), sa.column("key", sa.String))
_questions = sa.table(
    "template_question",
    sa.column("template_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("help_text", sa.Text),
    sa.column("answer_kind", sa.String),
    sa.column("version", sa.Integer),
    sa.column("retired_at", sa.DateTime),
)
_plan_questions = sa.table(
    "checklist_question",
    sa.column("plan_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("text", sa.Text),
)


def _activity_template(connection) -> int | None:
    return connection.execute(sa.select(_templates.c.id).where(_templates.c.key == "activity")).scalar()


def upgrade():
    connection = op.get_bind()
    template_id = _activity_template(connection)
    if template_id is not None:
        asked = connection.execute(
            sa.select(_questions.c.text, _questions.c.position).where(_questions.c.template_id == template_id)
        ).all()
        known = {" ".join(text.split()).casefold() for text, _position in asked}
        position = max((p for _text, p in asked), default=0)
        extra = []
        for (text,) in connection.execute(
            sa.select(_plan_questions.c.text).order_by(_plan_questions.c.plan_id, _plan_questions.c.position)
        ):
            key = " ".join((text or "").split()).casefold()
            if key and key not in known:
                known.add(key)
                position += 1
                extra.append(
                    {
                        "template_id": template_id,
                        "position": position,
                        "text": text.strip(),
                        "help_text": "",
                        "answer_kind": "text",
                        "version": 1,
                    }
                )
        if extra:
            op.bulk_insert(_questions, extra)
    op.drop_table("checklist_question")


def downgrade():
    op.create_table(
        "checklist_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_checklist_question_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_question")),
    )
    connection = op.get_bind()
    plan_id = connection.execute(sa.text("SELECT min(id) FROM plan")).scalar()
    template_id = _activity_template(connection)
    if plan_id is None or template_id is None:
        return
    rows = connection.execute(
        sa.select(_questions.c.text)
        .where(_questions.c.template_id == template_id, _questions.c.retired_at.is_(None))
        .order_by(_questions.c.position)
    ).all()
    op.bulk_insert(
        _plan_questions,
        [{"plan_id": plan_id, "position": i, "text": text} for i, (text,) in enumerate(rows, 1)],
    )

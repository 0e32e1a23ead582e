from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0004_follow_aliases')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ThreadKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=2048)),
                ('conversation', fields.ForeignKeyField('node.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='keys', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'conversation_thread_key', 'app': 'node', 'pk_attr': 'id', 'table_description': 'Another key naming a conversation: a server that calls our thread by its own'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Conversation',
            name='awaiting_parent',
            field=fields.CharField(null=True, db_index=True, max_length=2048),
        ),
        ops.AlterModelOptions(
            name='Message',
            options={'table': 'conversation_message', 'app': 'node', 'indexes': [Index(fields=['conversation_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One message: plain text, whatever HTML it arrived in, with its content warning and the'},
        ),
        ops.AddField(
            model_name='Message',
            name='attachments',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Message',
            name='in_reply_to',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='Message',
            name='not_sent_to',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Message',
            name='summary',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['conversation_id', 'created_at']),
        ),
    ]
